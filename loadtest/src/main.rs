//! `respub-loadtest`: measures pub/sub fan-out of RESP brokers (in progress).

fn main() {}
