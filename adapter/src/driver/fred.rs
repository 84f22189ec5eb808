//! [`Driver`] over the `fred` Redis client: works with respub, redis-server and valkey-server,
//! in RESP2 and RESP3, directly or behind Redis Sentinel.
//!
//! Two connections: the subscriber (SUBSCRIBE/PSUBSCRIBE/SSUBSCRIBE only) and the publisher
//! (PUBLISH, SPUBLISH, PUBSUB NUMSUB/SHARDNUMSUB). Both reconnect with exponential backoff
//! (100 ms doubling up to 5 s, forever). The driver keeps its own list of subscriptions and
//! sends them all again after each reconnection, then reports
//! [`DriverEvent::Resubscribed`]. Behind Sentinel every reconnection starts at the
//! sentinels, so a failover is one more reconnection. The publisher fails fast while
//! disconnected, so the adapter can count and log what it could not publish instead of
//! queueing it silently.

use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex, PoisonError},
};

use bytes::Bytes;
use fred::prelude::{
    Client, ClientLike, Config, EventInterface, PerformanceConfig, PubsubInterface,
    ReconnectPolicy, Value,
};
use fred::types::RespVersion;
use tokio::sync::{broadcast::error::RecvError, mpsc};

use super::{Driver, DriverEvent, Subscription};

/// Capacity of the queue between the subscriber connection and the adapter.
const EVENT_QUEUE: usize = 8192;
/// Capacity of the subscriber connection's broadcast channels inside fred.
/// tokio's broadcast channels allocate every slot up front and fred makes
/// several per client, so this is memory held from the start: 65,536 cost
/// about 80 MB per node. The forwarding task drains the channel as fast as
/// messages arrive; 8,192 still absorbs a burst of that many messages.
const FRED_QUEUE: usize = 8_192;
/// The publishing connection never receives messages.
const FRED_PUBLISHER_QUEUE: usize = 16;

/// The longest any command may wait, including while fred reconnects.
const COMMAND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// An error of the fred driver.
#[derive(Debug, thiserror::Error)]
pub enum FredDriverError {
    /// The URL could not be parsed.
    #[error("invalid redis url: {0}")]
    Url(String),
    /// A command failed or the connection is down.
    #[error("redis: {0}")]
    Redis(#[from] fred::error::Error),
    /// A reply did not have the expected shape.
    #[error("unexpected reply: {0}")]
    Reply(String),
    /// The connection to the broker is down; nothing was sent.
    #[error("not connected to the broker (reconnecting)")]
    Disconnected,
}

/// The production driver. Cheap to share behind the adapter's state.
#[derive(Debug)]
pub struct FredDriver {
    sub: Client,
    publ: Client,
    subs: Arc<Mutex<BTreeSet<Subscription>>>,
    events: Mutex<Option<mpsc::Receiver<DriverEvent>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl FredDriver {
    /// Connects both connections to `url`: `redis://host:port[/db]`, or fred's Sentinel form
    /// `redis-sentinel://host:port[/db]?sentinelServiceName=NAME&node=host:port...` (every
    /// address is a sentinel; `sentinelUsername`/`sentinelPassword` authenticate to the
    /// sentinels, the URL's own credentials to the master). Add `?protocol=resp3` to speak
    /// RESP3 (`HELLO 3`); RESP2 is the default.
    ///
    /// # Errors
    /// Fails when the URL is invalid or the first connection attempt fails.
    pub async fn connect(url: &str) -> Result<Self, FredDriverError> {
        let (url, version) = split_protocol(url);
        let mut config = Config::from_url(&url).map_err(|e| FredDriverError::Url(e.to_string()))?;
        config.version = version;
        Self::with_config(config).await
    }

    /// Connects both connections with a fred configuration built by the caller, for what a
    /// URL cannot say, such as a [`ServerConfig::Sentinel`] built from a list of sentinels.
    /// Behind Sentinel every reconnection asks the sentinels for the master and checks its
    /// `ROLE`, so both connections follow a failover and the subscriptions are restored on
    /// the new master. `fail_fast` is forced on: the publisher must fail while disconnected
    /// (see [`FredDriverError::Disconnected`]).
    ///
    /// [`ServerConfig::Sentinel`]: fred::prelude::ServerConfig::Sentinel
    ///
    /// # Errors
    /// Fails when the first connection attempt fails.
    pub async fn with_config(mut config: Config) -> Result<Self, FredDriverError> {
        config.fail_fast = true;
        let perf = PerformanceConfig {
            broadcast_channel_capacity: FRED_QUEUE,
            // fred queues commands while it reconnects; without a timeout an
            // emit during an outage would wait for the broker indefinitely.
            default_command_timeout: COMMAND_TIMEOUT,
            ..PerformanceConfig::default()
        };
        let policy = ReconnectPolicy::new_exponential(0, 100, 5_000, 2);
        let publisher_perf = PerformanceConfig {
            broadcast_channel_capacity: FRED_PUBLISHER_QUEUE,
            ..perf.clone()
        };
        let sub = Client::new(config.clone(), Some(perf), None, Some(policy.clone()));
        let publ = Client::new(config, Some(publisher_perf), None, Some(policy));
        sub.init().await?;
        publ.init().await?;

        let subs: Arc<Mutex<BTreeSet<Subscription>>> = Arc::default();
        let (tx, rx) = mpsc::channel(EVENT_QUEUE);
        let tasks = vec![
            tokio::spawn(forward_messages(sub.clone(), tx.clone())),
            tokio::spawn(watch_connection(sub.clone(), subs.clone(), tx)),
        ];
        Ok(Self {
            sub,
            publ,
            subs,
            events: Mutex::new(Some(rx)),
            tasks,
        })
    }

    fn subs(&self) -> std::sync::MutexGuard<'_, BTreeSet<Subscription>> {
        self.subs.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for FredDriver {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        let (sub, publ) = (self.sub.clone(), self.publ.clone());
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let _ = sub.quit().await;
                let _ = publ.quit().await;
            });
        }
    }
}

/// Strips a `protocol=resp3` (or `resp=3`) query parameter and returns the RESP version.
fn split_protocol(url: &str) -> (String, RespVersion) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), RespVersion::RESP2);
    };
    let mut version = RespVersion::RESP2;
    let rest: Vec<&str> = query
        .split('&')
        .filter(|kv| match *kv {
            "protocol=resp3" | "resp=3" | "protocol=3" => {
                version = RespVersion::RESP3;
                false
            }
            "protocol=resp2" | "resp=2" | "protocol=2" => false,
            _ => true,
        })
        .collect();
    if rest.is_empty() {
        (base.to_owned(), version)
    } else {
        (format!("{base}?{}", rest.join("&")), version)
    }
}

/// Subscribes and returns once the broker has run the subscription.
///
/// fred resolves SUBSCRIBE and PSUBSCRIBE once they are written, not when the broker confirms
/// them (their confirmations arrive out of band), so a node that announced itself ready could
/// still be missing from another server's `PUBSUB NUMSUB` and miss the first messages. A PING
/// on the same connection is answered after the subscription ran, which is the confirmation.
/// SSUBSCRIBE already waits for its answer (fred follows its cluster redirections).
async fn send_sub(client: &Client, sub: &Subscription) -> Result<(), fred::error::Error> {
    match sub {
        Subscription::Channel(c) => client.subscribe(c.as_str()).await?,
        Subscription::Pattern(p) => client.psubscribe(p.as_str()).await?,
        Subscription::Shard(c) => return client.ssubscribe(c.as_str()).await,
    }
    let _: Value = client.ping(None).await?;
    Ok(())
}

async fn forward_messages(sub: Client, tx: mpsc::Sender<DriverEvent>) {
    let mut rx = sub.message_rx();
    loop {
        let event = match rx.recv().await {
            Ok(msg) => {
                let payload = match msg.value {
                    Value::Bytes(b) => b,
                    Value::String(s) => s.into_inner(),
                    other => match other.into_bytes() {
                        Some(b) => b,
                        None => continue,
                    },
                };
                DriverEvent::Message {
                    channel: msg.channel.to_string(),
                    payload,
                }
            }
            Err(RecvError::Lagged(count)) => {
                tracing::warn!(count, "subscriber lagged: messages lost");
                DriverEvent::Lagged { count }
            }
            Err(RecvError::Closed) => {
                tracing::debug!("subscriber message stream closed");
                return;
            }
        };
        if tx.send(event).await.is_err() {
            return;
        }
    }
}

async fn watch_connection(
    sub: Client,
    subs: Arc<Mutex<BTreeSet<Subscription>>>,
    tx: mpsc::Sender<DriverEvent>,
) {
    let mut errors = sub.error_rx();
    let mut reconnects = sub.reconnect_rx();
    loop {
        tokio::select! {
            err = errors.recv() => match err {
                Ok((err, _)) => {
                    tracing::warn!(cause = %err, "connection to the broker lost");
                    if tx.send(DriverEvent::Disconnected).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            },
            server = reconnects.recv() => match server {
                Ok(server) => {
                    // A reconnect also means the old connection is gone, even if no error
                    // was reported first.
                    if tx.send(DriverEvent::Disconnected).await.is_err() {
                        return;
                    }
                    let all: Vec<Subscription> = subs
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .iter()
                        .cloned()
                        .collect();
                    let mut ok = true;
                    for s in &all {
                        if let Err(err) = send_sub(&sub, s).await {
                            tracing::warn!(cause = %err, ?s, "resubscribe failed");
                            ok = false;
                        }
                    }
                    if ok {
                        tracing::info!(%server, count = all.len(), "reconnected; subscriptions restored");
                        if tx.send(DriverEvent::Resubscribed).await.is_err() {
                            return;
                        }
                    }
                }
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            },
        }
    }
}

impl Driver for FredDriver {
    type Error = FredDriverError;

    async fn subscribe(&self, sub: Subscription) -> Result<(), FredDriverError> {
        self.subs().insert(sub.clone());
        send_sub(&self.sub, &sub).await?;
        Ok(())
    }

    async fn unsubscribe(&self, sub: Subscription) -> Result<(), FredDriverError> {
        self.subs().remove(&sub);
        match &sub {
            Subscription::Channel(c) => self.sub.unsubscribe(c.as_str()).await?,
            Subscription::Pattern(p) => self.sub.punsubscribe(p.as_str()).await?,
            Subscription::Shard(c) => self.sub.sunsubscribe(c.as_str()).await?,
        }
        // As for subscribing (`send_sub`): fred resolves all three once written.
        let _: Value = self.sub.ping(None).await?;
        Ok(())
    }

    async fn publish(
        &self,
        channel: String,
        payload: Bytes,
        sharded: bool,
    ) -> Result<u64, FredDriverError> {
        // Known to be down: fail now, so the event is reported at once
        // rather than queued behind the reconnection.
        if !self.publ.is_connected() {
            return Err(FredDriverError::Disconnected);
        }
        let n: i64 = if sharded {
            self.publ.spublish(channel, payload).await?
        } else {
            self.publ.publish(channel, payload).await?
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn num_sub(&self, channel: String, sharded: bool) -> Result<u64, FredDriverError> {
        let reply: Value = if sharded {
            self.publ.pubsub_shardnumsub(channel).await?
        } else {
            self.publ.pubsub_numsub(channel).await?
        };
        count_of(reply)
    }

    fn take_events(&self) -> Option<mpsc::Receiver<DriverEvent>> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

/// Reads the count out of a `[channel, count]` reply (or a one-entry map).
fn count_of(reply: Value) -> Result<u64, FredDriverError> {
    let value = match reply {
        Value::Array(items) => items.into_iter().nth(1),
        Value::Map(map) => map.inner().into_iter().next().map(|(_, v)| v),
        other => Some(other),
    };
    let n = value
        .and_then(|v| v.as_i64())
        .ok_or_else(|| FredDriverError::Reply("NUMSUB reply without a count".into()))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_query_selects_resp3() {
        let (url, v) = split_protocol("redis://127.0.0.1:6379?protocol=resp3");
        assert_eq!(url, "redis://127.0.0.1:6379");
        assert_eq!(v, RespVersion::RESP3);
        let (url, v) = split_protocol("redis://h:1/0");
        assert_eq!(url, "redis://h:1/0");
        assert_eq!(v, RespVersion::RESP2);
    }

    #[test]
    fn sentinel_url_names_every_sentinel() {
        let (url, v) = split_protocol(
            "redis-sentinel://127.0.0.1:26379/0?sentinelServiceName=mymaster\
             &node=127.0.0.1:26380&protocol=resp3&node=s3:26381",
        );
        assert_eq!(v, RespVersion::RESP3);
        let config = Config::from_url(&url).unwrap();
        let fred::prelude::ServerConfig::Sentinel {
            hosts,
            service_name,
            ..
        } = config.server
        else {
            panic!("not a sentinel config: {:?}", config.server);
        };
        assert_eq!(service_name, "mymaster");
        let mut hosts: Vec<String> = hosts.iter().map(ToString::to_string).collect();
        hosts.sort();
        assert_eq!(hosts, ["127.0.0.1:26379", "127.0.0.1:26380", "s3:26381"]);
    }
}
