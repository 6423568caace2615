//! Each class of configuration error, reported with its line and column.

use super::parse_config;

/// Parses `src` and returns the errors as `line:column: message`.
fn errors(src: &str) -> Vec<String> {
    match parse_config(src, "alerts.toml", None) {
        Ok(_) => Vec::new(),
        Err(e) => {
            e.0.iter()
                .map(|e| format!("{}:{}: {}", e.line, e.column, e.message))
                .collect()
        }
    }
}

fn has(errors: &[String], at: &str, text: &str) {
    assert!(
        errors.iter().any(|e| e.starts_with(at) && e.contains(text)),
        "no error at {at} containing {text:?} in {errors:#?}"
    );
}

const QUEUE: &str = "[[queue]]\nname = \"phone-*\"\nchannel = \"phone\"\n";

#[test]
fn the_repository_config_is_valid() {
    assert_eq!(errors(super::EMBEDDED), Vec::<String>::new());
}

#[test]
fn unknown_keys_with_a_suggestion() {
    let e = errors(&format!(
        "{QUEUE}[[rule]]\nname = \"d\"\nkind = \"queue_depth\"\nwarnign = 3\n"
    ));
    has(
        &e,
        "7:1",
        "unknown key `warnign` in [[rule]] (did you mean `warning`?)",
    );
    has(&e, "4:1", "has no thresholds");
}

#[test]
fn bad_durations_and_cron() {
    let e = errors(&format!(
        "{QUEUE}[[schedule]]\nname = \"n\"\ncron = \"0 20 * * *\"\nlength = \"12\"\n[[schedule]]\nname = \"w\"\ncron = \"0 0 9 * * 1-5\"\nlength = \"2h\"\n"
    ));
    has(
        &e,
        "6:8",
        "has 5 fields; expected 6 or 7 with seconds first",
    );
    has(&e, "7:10", "missing unit");
    has(&e, "10:8", "write days of the week by name");
}

#[test]
fn rules_naming_unknown_queues_schedules_and_calendars() {
    let e = errors(&format!(
        "{QUEUE}[queue.response]\ncalendar = \"office\"\n[[rule]]\nname = \"d\"\nkind = \"queue_depth\"\nqueues = [\"chat-*\"]\nwarning = 3\n[[rule.when]]\nschedule = \"night\"\nwarning = 1\n"
    ));
    has(&e, "5:12", "unknown schedule \"office\"");
    has(
        &e,
        "9:11",
        "queue \"chat-*\" matches no [[queue]] (defined: phone-*)",
    );
    has(&e, "12:12", "unknown schedule \"night\"");
}

#[test]
fn reversed_thresholds_and_clear_on_the_wrong_side() {
    let e = errors(&format!(
        "{QUEUE}[[rule]]\nname = \"d\"\nkind = \"queue_depth\"\nwarning = 30\ncritical = 10\nclear = 40\n[[rule]]\nname = \"sl\"\nkind = \"service_level\"\nwarning = 0.6\ncritical = 0.8\n"
    ));
    has(
        &e,
        "8:12",
        "`critical` (10) and `warning` (30) are reversed: a worse severity needs a higher value",
    );
    has(
        &e,
        "9:9",
        "`clear` (40) must be at or below the first threshold",
    );
    has(&e, "14:12", "a worse severity needs a lower value");
}

#[test]
fn wrong_types_and_values() {
    let e = errors(&format!(
        "[daemon]\nlisten = \"nowhere\"\ntimezone = \"Mars/Base\"\ntick = 5\n{QUEUE}[[rule]]\nname = \"sl\"\nkind = \"service_level\"\nwarning = 80\n[[rule]]\nname = \"m\"\nkind = \"metric\"\nmetric = \"happiness\"\nwarning = 1\n[[rule]]\nname = \"x\"\nkind = \"queue_deep\"\n"
    ));
    has(&e, "2:10", "is not an address");
    has(&e, "3:12", "unknown time zone \"Mars/Base\"");
    has(&e, "4:8", "must be a duration string");
    has(&e, "11:11", "must be a ratio between 0 and 1");
    has(&e, "15:10", "unknown metric \"happiness\"");
    has(&e, "19:8", "unknown kind \"queue_deep\"");
}

#[test]
fn syntax_errors_are_located() {
    let e = errors("[daemon]\nlisten = \"127.0.0.1:1\"\ntick = [\n");
    assert!(!e.is_empty());
    assert!(e[0].starts_with("3:") || e[0].starts_with("4:"), "{e:?}");
}

#[test]
fn every_error_is_reported_at_once() {
    let e = errors(&format!(
        "{QUEUE}[[rule]]\nname = \"a\"\nkind = \"queue_depth\"\nwarning = 3\nhold = \"soon\"\n[[rule]]\nname = \"a\"\nkind = \"queue_depth\"\nwarning = 3\ncooldown = \"1y\"\n"
    ));
    assert_eq!(e.len(), 3, "{e:#?}");
    has(&e, "8:8", "bad duration \"soon\"");
    has(&e, "9:1", "rule \"a\" is defined twice");
    has(&e, "13:12", "unknown unit \"y\"");
}

#[test]
fn live_stream_settings() {
    let e = errors(&format!(
        "{QUEUE}[live]\nopen_on_loopback = \"yes\"\nheartbeat = \"2 s\"\nbufer = 3\ntrend_step = \"10m\"\ntrend_window = \"5m\"\n"
    ));
    has(
        &e,
        "5:20",
        "`open_on_loopback` in [live] must be true or false",
    );
    has(&e, "6:13", "heartbeat");
    has(
        &e,
        "7:1",
        "unknown key `bufer` in `live` in the top level (did you mean `buffer`?)",
    );
    has(
        &e,
        "4:1",
        "`trend_window` in [live] must be at least one `trend_step`",
    );
}

#[test]
fn burn_rate_tiers_are_checked() {
    let e = errors(&format!(
        "{QUEUE}[[rule]]\nname = \"b\"\nkind = \"burn_rate\"\nstandard = \"servce_level\"\ntarget = 1.0\ncritical = {{ long = \"5m\", short = \"1h\", burn = 0 }}\nwarning = {{ long = \"30s\", short = \"5m\" }}\n"
    ));
    has(&e, "7:12", "`standard`");
    has(&e, "8:10", "`target` must be below 1");
    has(
        &e,
        "9:12",
        "`short` (1h) must not be longer than `long` (5m)",
    );
    has(&e, "9:48", "`burn` must be above 0");
    has(&e, "10:11", "missing required key `burn`");
    has(&e, "10:20", "`long`");
    let none = errors(&format!(
        "{QUEUE}[[rule]]\nname = \"b\"\nkind = \"burn_rate\"\n"
    ));
    has(&none, "4:1", "has no tiers");
}

#[test]
fn runbooks_and_languages_are_checked() {
    let rule = |runbook: &str| {
        format!(
            "{QUEUE}[[rule]]\nname = \"d\"\nkind = \"queue_depth\"\ncritical = 20\nrunbook = {runbook}\n"
        )
    };
    let e = errors(&rule("{ en = \"Call the vendor\" }"));
    has(&e, "8:11", "is missing required key `zh`");
    let e = errors(&rule("3"));
    has(
        &e,
        "8:11",
        "must be a string (the same in both languages) or a table",
    );
    let e = errors(&rule("{ en = \"a\", zh = \"b\", fr = \"c\" }"));
    has(&e, "8:33", "unknown key `fr`");
    let e = errors(&rule("\"   \""));
    has(&e, "8:11", "(en) is empty");
    let long = format!("\"{}\"", "x".repeat(2000));
    let e = errors(&rule(&long));
    has(&e, "8:11", "1024");
    let cfg = super::parse_config(
        &rule("{ en = \"Call the vendor\", zh = \"联系厂商\" }"),
        "alerts.toml",
        None,
    )
    .unwrap();
    let r = cfg.rules[0].runbook.as_ref().unwrap();
    assert_eq!(
        (r.en.as_str(), r.zh.as_str()),
        ("Call the vendor", "联系厂商")
    );

    let e = errors("[[webhook]]\nname = \"w\"\nurl = \"http://x\"\nlanguage = \"fr\"\n");
    has(&e, "4:12", "en, zh");
}
