//! Any thread: audio for the offline renderer, as mono samples: files decoded packet by packet
//! ([`decode`]) and the built-in demo track ([`demo`]).

pub mod decode;
pub mod demo;
