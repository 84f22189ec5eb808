//! A churner: subscribes and unsubscribes in a loop while the others
//! publish (the `churn` scenario).

use tokio_util::sync::CancellationToken;

use super::wire::{channel_name, confirmation_kind};
use crate::resp::{Conn, Event, parse_event};

/// Subscribes and unsubscribes in a loop until stopped: the hot channel
/// (whose subscriber list changes under the publishers' feet) and a
/// channel of its own (created and destroyed in the server's table each
/// time). Returns (confirmed operations, messages received meanwhile).
pub(super) async fn churner(
    conn: Conn,
    i: usize,
    stop: CancellationToken,
) -> anyhow::Result<(u64, u64)> {
    let Conn {
        mut reader,
        mut writer,
    } = conn;
    let hot = channel_name(0);
    let own = format!("lt:churn:{i}").into_bytes();
    let (mut ops, mut deliveries) = (0u64, 0u64);
    const PAIRS: u64 = 8;
    loop {
        for _ in 0..PAIRS {
            writer.push(&[b"SUBSCRIBE", &hot, &own]);
            writer.push(&[b"UNSUBSCRIBE", &hot, &own]);
        }
        writer.flush().await?;
        let mut confirmed = 0;
        while confirmed < PAIRS * 4 {
            let parsed = match parse_event(reader.buffer())? {
                Some((Event::Message { .. }, used)) => {
                    deliveries += 1;
                    Some(used)
                }
                Some((Event::Other(frame), used)) => {
                    confirmation_kind(&frame)?;
                    confirmed += 1;
                    Some(used)
                }
                None => None,
            };
            match parsed {
                Some(used) => reader.consume(used),
                // The first batch always completes, so a run that churned at
                // all reports it; later ones give way to the stop signal.
                None if ops == 0 => {
                    reader.fill().await?;
                }
                None => {
                    tokio::select! {
                        () = stop.cancelled() => return Ok((ops + confirmed, deliveries)),
                        r = reader.fill() => { r?; }
                    }
                }
            }
        }
        ops += confirmed;
        if stop.is_cancelled() {
            return Ok((ops, deliveries));
        }
    }
}
