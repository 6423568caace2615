//! Embeds the wall-board (dashboard/dist, made by scripts/build-board.sh) when it has been built;
//! without it the daemon still builds, and serves a page saying how to build the board.
//!
//! Each file but the page is embedded under a content-hashed name (`board.3f9a1c0b2d.js`) that
//! the page is rewritten to use, so a browser may keep it for a year and asks again only when
//! the daemon is upgraded; and each is precompressed here, once, with gzip and brotli at their
//! best settings, so the daemon only picks the bytes the browser accepts.

use std::io::Write;
use std::path::Path;
use std::{env, fs};

use sha2::{Digest, Sha256};

/// The board's files and their types; the page (first) keeps its name.
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
    let out = Path::new(&env::var("OUT_DIR").unwrap()).to_path_buf();
    let mut code = String::from("pub static ASSETS: &[Asset] = &[\n");
    if built {
        let mut page = fs::read_to_string(dist.join(FILES[0].0)).unwrap();
        let mut assets = Vec::new();
        for (file, mime) in &FILES[1..] {
            let bytes = fs::read(dist.join(file)).unwrap();
            let hash = hex(&Sha256::digest(&bytes)[..5]);
            let (stem, ext) = file.rsplit_once('.').unwrap();
            let name = format!("{stem}.{hash}.{ext}");
            let linked = format!("/board/{file}");
            assert!(page.contains(&linked), "index.html does not link {linked}");
            page = page.replace(&linked, &format!("/board/{name}"));
            assets.push((name, *mime, bytes, true));
        }
        assets.insert(
            0,
            (FILES[0].0.to_string(), FILES[0].1, page.into_bytes(), false),
        );
        for (name, mime, bytes, immutable) in assets {
            let etag = format!("\"{}\"", hex(&Sha256::digest(&bytes)[..8]));
            let plain = out.join(&name);
            fs::write(&plain, &bytes).unwrap();
            let gz = out.join(format!("{name}.gz"));
            fs::write(&gz, gzip(&bytes)).unwrap();
            let br = out.join(format!("{name}.br"));
            fs::write(&br, brotli(&bytes)).unwrap();
            code += &format!(
                "    Asset {{ name: {name:?}, mime: {mime:?}, etag: {etag:?}, immutable: {immutable}, \
                 plain: include_bytes!({plain:?}), gzip: include_bytes!({gz:?}), \
                 brotli: include_bytes!({br:?}) }},\n"
            );
        }
    }
    code += "];\n";
    fs::write(out.join("board_assets.rs"), code).unwrap();
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn brotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params).unwrap();
    out
}
