//! Embeds the wall-board (dashboard/dist, made by scripts/build-board.sh) when it has been built;
//! without it the daemon still builds, and serves a page saying how to build the board.

use std::path::Path;
use std::{env, fs};

const FILES: [(&str, &str); 4] = [
    ("index.html", "text/html; charset=utf-8"),
    ("board.js", "text/javascript; charset=utf-8"),
    ("board_bg.wasm", "application/wasm"),
    ("style.css", "text/css; charset=utf-8"),
];

fn main() {
    let dashboard = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dashboard");
    let dist = dashboard.join("dist");
    let built = FILES.iter().all(|(f, _)| dist.join(f).is_file());
    // A missing path would make cargo rerun this (and rebuild the daemon) every time.
    let watched = if built { &dist } else { &dashboard };
    println!("cargo::rerun-if-changed={}", watched.display());
    let mut code = String::from("pub static ASSETS: &[(&str, &str, &[u8])] = &[\n");
    if built {
        for (file, mime) in FILES {
            let path = dist.join(file).canonicalize().unwrap();
            code += &format!("    ({file:?}, {mime:?}, include_bytes!({path:?})),\n");
        }
    }
    code += "];\n";
    let out = Path::new(&env::var("OUT_DIR").unwrap()).join("board_assets.rs");
    fs::write(out, code).unwrap();
}
