//! The board's beep: two short tones for a new critical incident, three falling for a crisis,
//! when the screen asks for sound (`sound=1` or the toggle) and the browser allows it.

use std::cell::RefCell;

use floorwatch_protocol::Severity;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;
use web_sys::{AudioContext, AudioContextState};

use crate::Ctx;
use crate::i18n::{K, t};

/// Whether the board should beep, and whether the browser lets it.
#[derive(Clone, Copy)]
pub struct Sound {
    /// Asked for (`sound=1`, or the toggle).
    pub wanted: RwSignal<bool>,
    /// The AudioContext is running (browsers keep it suspended until a user gesture).
    pub running: RwSignal<bool>,
}

thread_local! {
    static AUDIO: RefCell<Option<AudioContext>> = const { RefCell::new(None) };
}

impl Sound {
    pub fn new(wanted: bool) -> Sound {
        let s = Sound {
            wanted: RwSignal::new(wanted),
            running: RwSignal::new(false),
        };
        if wanted {
            // A kiosk browser started with autoplay allowed runs at once; others stay suspended
            // and the "enable sound" button shows.
            s.context();
        }
        s
    }

    /// The page's one AudioContext, made on first use.
    fn context(self) -> Option<AudioContext> {
        AUDIO.with(|a| {
            if a.borrow().is_none() {
                let ctx = AudioContext::new().ok()?;
                let running = self.running;
                let on_change = Closure::<dyn FnMut()>::new(move || {
                    running.set(audio_running());
                });
                ctx.set_onstatechange(Some(on_change.as_ref().unchecked_ref()));
                // One context for the page's life: its handler lives as long.
                on_change.forget();
                *a.borrow_mut() = Some(ctx);
            }
            let ctx = a.borrow().clone();
            self.running.set(audio_running_in(ctx.as_ref()));
            ctx
        })
    }

    /// From a click: make and resume the context (only a user gesture may).
    pub fn enable(self) {
        self.wanted.set(true);
        if let Some(ctx) = self.context() {
            let _ = ctx.resume();
        }
    }

    pub fn toggle(self) {
        if self.wanted.get_untracked() {
            self.wanted.set(false);
        } else {
            self.enable();
        }
    }

    /// Two short beeps for critical, three falling for crisis.
    pub fn beep(self, severity: Severity) {
        if !self.wanted.get_untracked() {
            return;
        }
        let Some(ctx) = AUDIO.with(|a| a.borrow().clone()) else {
            return;
        };
        if ctx.state() != AudioContextState::Running {
            return;
        }
        let tones: &[(f32, f64)] = if severity >= Severity::Crisis {
            &[(988.0, 0.0), (784.0, 0.28), (988.0, 0.56)]
        } else {
            &[(880.0, 0.0), (880.0, 0.28)]
        };
        let t0 = ctx.current_time();
        for (freq, at) in tones {
            let _ = tone(&ctx, *freq, t0 + at, 0.2);
        }
    }
}

fn tone(ctx: &AudioContext, freq: f32, start: f64, len: f64) -> Result<(), wasm_bindgen::JsValue> {
    let osc = ctx.create_oscillator()?;
    osc.frequency().set_value(freq);
    let gain = ctx.create_gain()?;
    // A short ramp in and out: a hard start or stop clicks.
    gain.gain().set_value_at_time(0.0001, start)?;
    gain.gain()
        .exponential_ramp_to_value_at_time(0.35, start + 0.02)?;
    gain.gain()
        .exponential_ramp_to_value_at_time(0.0001, start + len)?;
    osc.connect_with_audio_node(&gain)?;
    gain.connect_with_audio_node(&ctx.destination())?;
    osc.start_with_when(start)?;
    osc.stop_with_when(start + len + 0.02)?;
    Ok(())
}

fn audio_running() -> bool {
    AUDIO.with(|a| audio_running_in(a.borrow().as_ref()))
}

fn audio_running_in(ctx: Option<&AudioContext>) -> bool {
    ctx.is_some_and(|c| c.state() == AudioContextState::Running)
}

/// The top bar's sound controls: the toggle, and "enable sound" while the browser holds it back.
#[component]
pub fn SoundControls() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let lang = ctx.lang;
    let sound = ctx.sound;
    // Beep on each new alarm from the live stream.
    Effect::new(move |_| {
        let (n, severity) = ctx.live.alarm.get();
        if n > 0 {
            sound.beep(severity);
        }
    });
    view! {
        <button
            class="sound-toggle"
            aria-pressed=move || sound.wanted.get().to_string()
            on:click=move |_| sound.toggle()
        >
            // Words, not emoji: a kiosk PC may have no emoji font.
            {move || t(lang, if sound.wanted.get() { K::SoundOn } else { K::SoundOff })}
        </button>
        {move || {
            (sound.wanted.get() && !sound.running.get())
                .then(|| {
                    view! {
                        <button class="enable-sound" on:click=move |_| sound.enable()>
                            {t(lang, K::EnableSound)}
                        </button>
                    }
                        .into_any()
                })
        }}
    }
}
