//! Whole command sequences: arbitrary bytes through a real connection
//! (decoder, every command, registry, outbound queue) over an in-memory
//! pipe. The connection must end, and leave no subscription behind.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let replay = respub_broker::connection::replay(data).expect("the connection must end");
    assert!(replay.registry_empty, "subscriptions left behind");
});
