//! Every word the board shows, in English and Simplified Chinese. One table, so a label cannot
//! exist in one language only: the macro below makes each key carry both texts.

use floorwatch_protocol::{IncidentStatus, Severity, TimelineKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Zh,
}

impl Lang {
    /// From a language tag (`lang=zh`, or the browser's `zh-CN`): any `zh*` is Chinese.
    pub fn from_tag(tag: &str) -> Lang {
        if tag.trim().to_ascii_lowercase().starts_with("zh") {
            Lang::Zh
        } else {
            Lang::En
        }
    }

    /// The daemon's name for the language (incident titles come in both).
    pub fn language(self) -> floorwatch_protocol::Language {
        match self {
            Lang::En => floorwatch_protocol::Language::English,
            Lang::Zh => floorwatch_protocol::Language::Chinese,
        }
    }

    /// For `<html lang>`, which also picks CJK glyphs in the system fonts.
    pub fn html_tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh-CN",
        }
    }
}

macro_rules! strings {
    ($($key:ident => $en:literal, $zh:literal;)+) => {
        /// A label. `{}` in a text is a placeholder, filled by [`tf`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum K { $($key),+ }

        impl K {
            #[cfg(test)]
            pub const ALL: &'static [K] = &[$(K::$key),+];
        }

        pub fn t(lang: Lang, key: K) -> &'static str {
            match (lang, key) {
                $((Lang::En, K::$key) => $en, (Lang::Zh, K::$key) => $zh,)+
            }
        }
    };
}

strings! {
    Board => "Board", "看板";
    Incidents => "Incidents", "事件";
    Connecting => "Connecting…", "正在连接…";
    Live => "Live", "实时";
    Reconnecting => "Reconnecting", "正在重连";
    DaemonClock => "Daemon time", "服务时间";
    StaleSince => "No data since {} — reconnecting…", "自 {} 起无数据 — 正在重连…";
    NoQueues => "No queues to show", "没有可显示的队列";
    Waiting => "waiting", "排队";
    LongestWait => "longest wait", "最长等待";
    ServiceLevel => "SL", "服务水平";
    Asa => "ASA", "平均应答";
    Abandonment => "abandoned", "放弃率";
    AgentsAvailable => "agents free", "空闲坐席";
    TrendWaiting => "waiting, 30 min", "排队数（30分钟）";
    TrendSl => "service level, 30 min", "服务水平（30分钟）";
    StateAlert => "ALERT", "告警";
    StateWarn => "WARN", "注意";
    StateOk => "OK", "正常";
    StateStale => "NO DATA", "无数据";
    NoDataFrom => "No data from {} since {}", "{} 自 {} 起无数据";
    HeartbeatFailing => "Heartbeat {} failing since {}: nobody outside would notice if Floorwatch stopped", "心跳 {} 自 {} 起失败：Floorwatch 停止时外部无法察觉";
    TargetFailing => "Pages to {} failing since {} ({} of {} attempts failed in the last hour)", "发往 {} 的通知自 {} 起失败（近一小时 {} / {} 次失败）";
    Drill => "DRILL", "演练";
    Crisis => "CRISIS", "危机";
    OpenIncidents => "Open incidents", "未关闭事件";
    NoOpenIncidents => "No open incidents", "没有未关闭的事件";
    Ack => "ACK", "确认";
    AckedBy => "ack: {}", "已确认：{}";
    NotAcked => "not acknowledged", "未确认";
    Level => "level", "级别";
    Page => "page {} / {}", "第 {} / {} 页";
    SoundOn => "♪ Sound on", "♪ 声音开";
    SoundOff => "♪ Sound off", "♪ 声音关";
    EnableSound => "Enable sound", "启用声音";
    Loading => "Loading…", "加载中…";
    Id => "ID", "编号";
    Severity => "Severity", "级别";
    Status => "Status", "状态";
    Title => "Title", "标题";
    Scope => "Scope", "范围";
    Opened => "Opened", "开启时间";
    Duration => "Duration", "持续";
    AcknowledgedBy => "Acknowledged by", "确认人";
    AcknowledgedAt => "Acknowledged", "确认时间";
    ResolvedAt => "Resolved", "解决时间";
    ResolvedBy => "Resolved by", "解决人";
    Rule => "Rule", "规则";
    Kind => "Kind", "类型";
    Escalation => "Escalation", "升级";
    NextLevelAt => "next level at {}", "下一级于 {}";
    Told => "Told", "已通知";
    SilencedBy => "Silenced by", "静默原因";
    Situation => "Part of the situation led by", "所属事态（主事件）";
    AlsoInSituation => "also: {}", "同时：{}";
    Reopened => "Reopened", "重新开启次数";
    Yes => "yes", "是";
    ValuesAtOpen => "Values at open", "开启时数值";
    ValuesAtPeak => "Values at peak", "峰值";
    ValuesAtClose => "Values at close", "关闭时数值";
    Timeline => "Timeline", "时间线";
    Runbook => "What to do", "处置步骤";
    Time => "Time", "时间";
    Actor => "Actor", "操作者";
    Message => "Message", "内容";
    Values => "Values", "数值";
    Acknowledge => "Acknowledge", "确认";
    Resolve => "Resolve", "解决";
    NotePlaceholder => "Add a note to the timeline…", "在时间线上添加备注…";
    AddNote => "Add note", "添加备注";
    Export => "Export", "导出";
    Token => "token", "令牌";
    SetToken => "Set", "设置";
    TokenSaved => "token saved", "令牌已保存";
    Back => "← Incidents", "← 事件列表";
    NoIncidents => "No incidents", "没有事件";
    NotFound => "No such incident", "没有这个事件";
    HttpError => "HTTP error {}", "HTTP 错误 {}";
    NetworkError => "The daemon cannot be reached", "无法连接服务";
    PredictedIn => "→ {} in {} min", "→ {}（{} 分钟后）";
    FirstReplyInTime => "first reply in time", "首次回复及时率";
    DueIn => "oldest due in", "最早一封剩余";
    Overdue => "oldest overdue by", "最早一封已超时";
    OldestUnanswered => "oldest unanswered", "最久未回复";
    Answered => "answered", "已回复";
    ComplaintsLastHour => "Complaints, last hour", "近一小时投诉";
    NoComplaints => "No complaints in the last hour", "近一小时没有投诉";
    UsualCount => "usual {}", "平常 {}";
    Keywords => "Keywords", "关键词";
    GradeGeneral => "general", "一般";
    GradeKey => "key", "重要";
    GradeUrgent => "urgent", "紧急";
    DeadlineRow => "{} open · {} near deadline · {} late", "{} 件未结 · {} 件临近时限 · {} 件超时";
    Oldest => "oldest {}", "最久 {}";
    Chart => "What happened", "过程";
    ChartWaiting => "Waiting", "排队";
    ChartTarget => "target", "目标";
    ChartComplaints => "Complaints", "投诉";
    ChartUsual => "usual", "平常";
    NoFigures => "No figures kept for this time", "这段时间没有保留数据";
    NoSeries => "Only its events: this kind of incident has no figures over time", "此类事件只有时间线";
    Review => "Review", "复盘";
    WhatHappened => "What happened", "经过";
    WhatWorked => "What worked", "有效的做法";
    WhatToChange => "What to change (plan, thresholds, staffing)", "需要改进（预案、阈值、排班）";
}

/// A label with its `{}` placeholders filled in order.
pub fn tf(lang: Lang, key: K, args: &[&str]) -> String {
    let mut out = String::new();
    let mut rest = t(lang, key);
    for a in args {
        match rest.split_once("{}") {
            Some((before, after)) => {
                out.push_str(before);
                out.push_str(a);
                rest = after;
            }
            None => break,
        }
    }
    out.push_str(rest);
    out
}

pub fn severity(lang: Lang, s: Severity) -> &'static str {
    match (lang, s) {
        (Lang::En, Severity::Info) => "info",
        (Lang::En, Severity::Warning) => "warning",
        (Lang::En, Severity::Critical) => "critical",
        (Lang::En, Severity::Crisis) => "crisis",
        (Lang::Zh, Severity::Info) => "提示",
        (Lang::Zh, Severity::Warning) => "警告",
        (Lang::Zh, Severity::Critical) => "严重",
        (Lang::Zh, Severity::Crisis) => "危机",
    }
}

pub fn status(lang: Lang, s: IncidentStatus) -> &'static str {
    match (lang, s) {
        (Lang::En, IncidentStatus::Firing) => "firing",
        (Lang::En, IncidentStatus::Acknowledged) => "acknowledged",
        (Lang::En, IncidentStatus::Resolved) => "resolved",
        (Lang::Zh, IncidentStatus::Firing) => "告警中",
        (Lang::Zh, IncidentStatus::Acknowledged) => "已确认",
        (Lang::Zh, IncidentStatus::Resolved) => "已解决",
    }
}

pub fn timeline_kind(lang: Lang, k: TimelineKind) -> &'static str {
    use TimelineKind::*;
    match lang {
        Lang::En => match k {
            Opened => "opened",
            SeverityRaised => "severity raised",
            SeverityLowered => "severity lowered",
            Clearing => "clearing",
            Resolved => "resolved",
            Reopened => "reopened",
            Acknowledged => "acknowledged",
            Unacknowledged => "unacknowledged",
            Note => "note",
            Inhibited => "held back",
            Released => "released",
            Joined => "situation",
            Escalated => "escalated",
            Delivered => "delivered",
            DeliveryRetry => "delivery retry",
            DeliveryFailed => "delivery failed",
        },
        Lang::Zh => match k {
            Opened => "开启",
            SeverityRaised => "级别升高",
            SeverityLowered => "级别降低",
            Clearing => "正在恢复",
            Resolved => "已解决",
            Reopened => "重新开启",
            Acknowledged => "已确认",
            Unacknowledged => "取消确认",
            Note => "备注",
            Inhibited => "被抑制",
            Released => "解除抑制",
            Joined => "合并事态",
            Escalated => "已升级",
            Delivered => "已送达",
            DeliveryRetry => "重试投递",
            DeliveryFailed => "投递失败",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_has_both_languages_and_the_same_placeholders() {
        for k in K::ALL {
            let (en, zh) = (t(Lang::En, *k), t(Lang::Zh, *k));
            assert!(!en.is_empty() && !zh.is_empty(), "{k:?}");
            assert_eq!(en.matches("{}").count(), zh.matches("{}").count(), "{k:?}");
        }
    }

    #[test]
    fn placeholders_fill_in_order() {
        assert_eq!(tf(Lang::En, K::Page, &["2", "3"]), "page 2 / 3");
        assert_eq!(tf(Lang::Zh, K::Page, &["2", "3"]), "第 2 / 3 页");
        assert_eq!(
            tf(Lang::En, K::StaleSince, &["14:03:12"]),
            "No data since 14:03:12 — reconnecting…"
        );
    }

    #[test]
    fn tags() {
        assert_eq!(Lang::from_tag("zh"), Lang::Zh);
        assert_eq!(Lang::from_tag("ZH-hans"), Lang::Zh);
        assert_eq!(Lang::from_tag("en-US"), Lang::En);
        assert_eq!(Lang::from_tag("fr"), Lang::En);
    }

    #[test]
    fn enums_are_translated() {
        for s in Severity::ALL {
            assert_ne!(severity(Lang::En, s), severity(Lang::Zh, s));
        }
        for k in ["opened", "note", "delivery_failed"] {
            let k = TimelineKind::parse(k).unwrap();
            assert_ne!(timeline_kind(Lang::En, k), timeline_kind(Lang::Zh, k));
        }
    }
}
