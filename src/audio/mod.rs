//! Any thread: audio for the offline renderer, as mono samples: files decoded packet by packet
//! ([`decode`]), the page layer of Ogg files, read for lost pages ([`ogg`]), and the built-in demo
//! track ([`demo`]).

pub mod decode;
pub mod demo;
pub mod ogg;
