//! The words people read, in both of Floorwatch's languages (English and Simplified Chinese):
//! durations, who waits in a queue, figure names, severities and page reasons. Each rule kind
//! writes its own titles (in its module of `rules`) with these; `notify::page` frames a page
//! with them. Both languages are written here side by side, so neither falls behind.

use floorwatch_protocol::{Channel, Grade, Language, Metric, Severity, TimelineKind, Values};

pub use floorwatch_protocol::Said;

use crate::config::{Clock, Millis, format_duration};

/// A duration as a person reads it: `4m30s`, or `4分30秒`.
pub fn duration(ms: Millis, lang: Language) -> String {
    match lang {
        Language::English => format_duration(ms),
        Language::Chinese => duration_zh(ms),
    }
}

fn duration_zh(ms: Millis) -> String {
    if ms <= 0 {
        return "0秒".into();
    }
    let mut out = String::new();
    let mut rest = ms;
    for (unit, size) in [
        ("天", 86_400_000),
        ("小时", 3_600_000),
        ("分钟", 60_000),
        ("秒", 1_000),
    ] {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    if out.is_empty() {
        out = format!("{rest}毫秒");
    }
    out
}

/// A share as a percentage, no decimals.
pub fn percent(v: f64) -> String {
    format!("{:.0}%", v * 100.0)
}

/// Who waits in a queue of this channel, in English (`callers`), for a title.
pub fn who_waits(channel: Option<Channel>) -> &'static str {
    match channel {
        Some(Channel::Phone) => "callers",
        Some(Channel::Chat) => "chats",
        Some(Channel::Email) => "e-mails",
        _ => "contacts",
    }
}

/// `n` contacts of this channel, counted in Chinese: `30 个来电`, `12 封邮件`.
pub fn contacts_zh(channel: Option<Channel>, n: impl std::fmt::Display) -> String {
    match channel {
        Some(Channel::Phone) => format!("{n} 个来电"),
        Some(Channel::Chat) => format!("{n} 个会话"),
        Some(Channel::Email) => format!("{n} 封邮件"),
        _ => format!("{n} 个联系"),
    }
}

/// A channel's name in Chinese.
pub fn channel_zh(channel: Channel) -> &'static str {
    match channel {
        Channel::Phone => "电话",
        Channel::Chat => "在线",
        Channel::Email => "邮件",
        Channel::Social => "社交媒体",
        Channel::Other => "其他渠道",
    }
}

/// A complaint grade in Chinese.
pub fn grade_zh(grade: Grade) -> &'static str {
    match grade {
        Grade::General => "一般",
        Grade::Key => "重点",
        Grade::Urgent => "紧急",
    }
}

/// A response clock (`first response`), in both languages.
pub fn clock(c: Clock, lang: Language) -> &'static str {
    match lang {
        Language::English => c.describe(),
        Language::Chinese => match c {
            Clock::First => "首次响应",
            Clock::Next => "后续响应",
            Clock::FollowUp => "跟进",
        },
    }
}

/// A queue figure's name in Chinese.
pub fn metric_zh(m: Metric) -> &'static str {
    FIGURES
        .iter()
        .find(|(k, ..)| *k == m.as_str())
        .map_or(m.as_str(), |(_, _, zh, _)| zh)
}

/// How a figure is shown.
#[derive(Clone, Copy)]
enum Shown {
    Count,
    Share,
    Seconds,
    Times,
    /// Probabilities and the like: for the timeline, not for a page.
    Hidden,
}

/// The figures the engine records on incidents (`Detail::figures`), by their key: the name a
/// person reads in each language and how the value is shown. A key missing here is not shown in
/// pages; the tests below keep it whole for the queue figures and each rule kind's own.
#[rustfmt::skip]
const FIGURES: &[(&str, &str, &str, Shown)] = &[
    ("waiting", "waiting", "排队数", Shown::Count),
    ("longest_wait_s", "longest wait", "最长等待", Shown::Seconds),
    ("service_level", "service level", "服务水平", Shown::Share),
    ("asa_s", "average answer", "平均应答时间", Shown::Seconds),
    ("abandonment_rate", "abandoned", "放弃率", Shown::Share),
    ("aht_s", "handle time", "平均处理时长", Shown::Seconds),
    ("agents_available", "agents free", "空闲坐席", Shown::Count),
    ("agents_busy", "agents busy", "忙碌坐席", Shown::Count),
    ("agents_required", "agents needed", "所需坐席", Shown::Count),
    ("agents_short", "agents short", "坐席缺口", Shown::Count),
    (
        "staffing_ratio",
        "staffed for demand",
        "人力配比",
        Shown::Share,
    ),
    (
        "unanswered_for_s",
        "nobody answered for",
        "无人应答时长",
        Shown::Seconds,
    ),
    ("offered", "offered", "进线量", Shown::Count),
    ("answered", "answered", "接通量", Shown::Count),
    ("abandoned", "gave up", "放弃量", Shown::Count),
    ("open_contacts", "open contacts", "未结联系", Shown::Count),
    ("volume", "contacts", "联系量", Shown::Count),
    ("projected", "projected", "预计", Shown::Hidden),
    ("per_minute", "per minute", "每分钟变化", Shown::Hidden),
    ("breaches", "late", "超时", Shown::Count),
    ("approaching", "about to be late", "即将超时", Shown::Count),
    ("burn_rate", "budget burn", "预算消耗速度", Shown::Times),
    (
        "short_burn_rate",
        "budget burn (short)",
        "预算消耗速度(短窗)",
        Shown::Hidden,
    ),
    ("met_long", "in time", "达标率", Shown::Share),
    (
        "met_short",
        "in time (short)",
        "达标率(短窗)",
        Shown::Hidden,
    ),
    ("target", "target", "目标", Shown::Share),
    ("contacts_long", "contacts", "联系量", Shown::Count),
    (
        "predicted_service_level",
        "predicted service level",
        "预计服务水平",
        Shown::Share,
    ),
    (
        "arrivals_per_hour",
        "arrivals per hour",
        "每小时进线",
        Shown::Count,
    ),
    ("patience_s", "patience", "平均耐心", Shown::Seconds),
    ("agents", "agents", "坐席", Shown::Count),
    ("silent_s", "silent for", "无数据时长", Shown::Seconds),
    ("stale_after_s", "usual gap", "正常间隔", Shown::Hidden),
    ("ratio", "times usual", "为平常的倍数", Shown::Times),
    ("observed", "complaints", "投诉数", Shown::Count),
    ("expected", "usual", "平常", Shown::Count),
    ("p_value", "p-value", "p 值", Shown::Hidden),
    ("overdue", "past deadline", "已超时", Shown::Count),
];

/// A recorded figure as a page shows it: its name and value in `lang`; `None` for figures kept
/// for the timeline only (p-values, slopes) and for keys without words.
pub fn figure(key: &str, value: f64, lang: Language) -> Option<(&'static str, String)> {
    let (_, en, zh, shown) = FIGURES.iter().find(|(k, ..)| *k == key)?;
    let name = match lang {
        Language::English => *en,
        Language::Chinese => *zh,
    };
    let v = match shown {
        Shown::Hidden => return None,
        Shown::Count => format!("{}", (value * 10.0).round() / 10.0),
        Shown::Share => percent(value),
        Shown::Seconds => duration((value.round() * 1000.0) as Millis, lang),
        Shown::Times => match lang {
            Language::English => format!("{value:.1}x"),
            Language::Chinese => format!("{value:.1} 倍"),
        },
    };
    Some((name, v))
}

/// The figures of `values` a page shows, in the order of `FIGURES` (the queue's own first).
pub fn figures(values: &Values, lang: Language) -> Vec<(&'static str, String)> {
    FIGURES
        .iter()
        .filter_map(|(k, ..)| figure(k, *values.get(*k)?, lang))
        .collect()
}

/// A severity as a page's tag: `CRITICAL`, `严重`.
pub fn severity(s: Severity, lang: Language) -> &'static str {
    match (lang, s) {
        (Language::Chinese, Severity::Info) => "信息",
        (Language::Chinese, Severity::Warning) => "警告",
        (Language::Chinese, Severity::Critical) => "严重",
        (Language::Chinese, Severity::Crisis) => "危机",
        (Language::English, Severity::Info) => "INFO",
        (Language::English, Severity::Warning) => "WARNING",
        (Language::English, Severity::Critical) => "CRITICAL",
        (Language::English, Severity::Crisis) => "CRISIS",
    }
}

/// The labels of an incident's chart (`chart.rs`).
pub fn chart(lang: Language) -> floorwatch_protocol::plot::Labels<'static> {
    use floorwatch_protocol::plot::Labels;
    match lang {
        Language::English => Labels {
            waiting: "Waiting",
            service_level: "Service level",
            target: "target",
            complaints: "Complaints",
            usual: "usual",
            no_figures: "No figures kept for this time",
            no_series: "Only its events: this kind of incident has no figures over time",
        },
        Language::Chinese => Labels {
            waiting: "排队",
            service_level: "服务水平",
            target: "目标",
            complaints: "投诉",
            usual: "平常",
            no_figures: "这段时间没有保留数据",
            no_series: "此类事件只有时间线",
        },
    }
}

/// A timeline event's name, short (an incident chart's marks).
pub fn event(kind: TimelineKind, lang: Language) -> &'static str {
    use TimelineKind::*;
    match (kind, lang) {
        (Opened, Language::English) => "opened",
        (Opened, Language::Chinese) => "告警",
        (Reopened, Language::English) => "reopened",
        (Reopened, Language::Chinese) => "重开",
        (SeverityRaised, Language::English) => "raised",
        (SeverityRaised, Language::Chinese) => "升级",
        (Escalated, Language::English) => "paged",
        (Escalated, Language::Chinese) => "通知",
        (Acknowledged, Language::English) => "acknowledged",
        (Acknowledged, Language::Chinese) => "已确认",
        (Resolved, Language::English) => "resolved",
        (Resolved, Language::Chinese) => "已恢复",
        (k, _) => k.as_str(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_chinese() {
        assert_eq!(duration(270_000, Language::Chinese), "4分钟30秒");
        assert_eq!(duration(3_600_000, Language::Chinese), "1小时");
        assert_eq!(duration(0, Language::Chinese), "0秒");
        assert_eq!(duration(270_000, Language::English), "4m30s");
    }

    #[test]
    fn figures_read_in_both_languages_and_statistics_stay_out() {
        assert_eq!(
            figure("service_level", 0.456, Language::Chinese),
            Some(("服务水平", "46%".into()))
        );
        assert_eq!(
            figure("longest_wait_s", 270.0, Language::English),
            Some(("longest wait", "4m30s".into()))
        );
        assert_eq!(figure("p_value", 1e-6, Language::English), None);
        assert_eq!(figure("no such figure", 1.0, Language::English), None);
    }

    #[test]
    fn every_rule_kinds_own_figure_has_words() {
        use crate::rules::*;
        for key in [
            burn_rate::PEAK,
            predicted::PEAK,
            response_time::PEAK,
            feed_silence::PEAK,
            complaint_spike::PEAK,
            complaint_deadline::PEAK,
        ] {
            assert!(
                FIGURES.iter().any(|(k, ..)| *k == key),
                "{key} has no words"
            );
        }
    }

    #[test]
    fn every_queue_figure_has_words() {
        for m in Metric::ALL {
            assert!(
                FIGURES.iter().any(|(k, ..)| *k == m.as_str()),
                "{} has no words",
                m.as_str()
            );
        }
    }
}
