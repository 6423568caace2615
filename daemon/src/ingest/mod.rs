//! Where events enter: decoding bodies into validated events (`decode`), the journal that keeps
//! every accepted event (`journal`), and feeding recorded NDJSON through an engine on a virtual
//! clock (`replay`), which `floorwatch replay`, config tests and the restart warm-up share.

pub mod decode;
pub mod journal;
pub mod replay;

pub use decode::{decode, decode_bytes, parse_time, validate};
