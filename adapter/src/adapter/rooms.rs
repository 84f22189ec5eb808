//! Room channels of the sharded modes: which channel a sharded broadcast goes to
//! (`computeChannel`), and, in the dynamic modes, keeping one subscription per local
//! room and socket id. socketioxide's `socket.join` does not reach the adapter, so the
//! subscriptions are reconciled with the local rooms rather than changed on each join.

use std::{
    collections::HashSet,
    sync::{Arc, Weak},
    time::Duration,
};

use socketioxide_core::adapter::SocketEmitter;

use super::{state::CustomRespubAdapter, targets::everyone};
use crate::{
    Error,
    config::SubscriptionMode,
    driver::{Driver, Subscription},
};

impl<E: SocketEmitter, D: Driver> CustomRespubAdapter<E, D> {
    fn has_room_channels(&self) -> bool {
        matches!(
            self.subscription_mode(),
            Some(SubscriptionMode::Dynamic | SubscriptionMode::DynamicPrivate)
        )
    }

    /// Channel of a sharded message (`computeChannel`).
    pub(crate) fn sharded_channel(&self, is_plain_broadcast: bool, rooms: &[String]) -> String {
        let mode = self.subscription_mode().unwrap_or_default();
        match rooms {
            [room] if is_plain_broadcast => {
                let dynamic = (mode == SubscriptionMode::Dynamic && room.chars().count() != 20)
                    || mode == SubscriptionMode::DynamicPrivate;
                if dynamic {
                    self.ch.room(room)
                } else {
                    self.ch.base.clone()
                }
            }
            _ => self.ch.base.clone(),
        }
    }

    /// Sharded dynamic modes: makes the room channel subscriptions match the local rooms
    /// and socket ids (socketioxide ids are 16 characters, so Node's `dynamic` mode
    /// publishes to them on their own channel).
    pub(crate) async fn sync_rooms_impl(&self) -> Result<(), Error> {
        if !self.has_room_channels() {
            return Ok(());
        }
        let mut wanted: HashSet<String> = self
            .local
            .rooms(everyone())
            .into_iter()
            .map(|r| r.to_string())
            .collect();
        wanted.extend(self.all_local_sids().into_iter().map(|s| s.to_string()));
        let mut subs = self.room_subs.lock().await;
        let add: Vec<String> = wanted.difference(&subs).cloned().collect();
        let remove: Vec<String> = subs.difference(&wanted).cloned().collect();
        for room in add {
            self.cluster
                .driver()
                .subscribe(Subscription::Shard(self.ch.room(&room)))
                .await
                .map_err(Error::driver)?;
            subs.insert(room);
        }
        for room in remove {
            self.cluster
                .driver()
                .unsubscribe(Subscription::Shard(self.ch.room(&room)))
                .await
                .map_err(Error::driver)?;
            subs.remove(&room);
        }
        Ok(())
    }

    /// In the dynamic modes, starts the background reconciliation that catches up with
    /// `socket.join`; it ends with the adapter.
    pub(crate) fn start_room_sync(self: &Arc<Self>) {
        if self.has_room_channels() {
            tokio::spawn(reconcile_rooms(
                Arc::downgrade(self),
                self.cluster.config().room_sync_interval,
            ));
        }
    }

    /// Forgets the room channel subscriptions, returning them to be unsubscribed.
    pub(crate) async fn take_room_subscriptions(&self) -> Vec<Subscription> {
        let rooms: Vec<String> = self.room_subs.lock().await.drain().collect();
        rooms
            .into_iter()
            .map(|r| Subscription::Shard(self.ch.room(&r)))
            .collect()
    }
}

async fn reconcile_rooms<E: SocketEmitter, D: Driver>(
    adapter: Weak<CustomRespubAdapter<E, D>>,
    period: Duration,
) {
    let mut tick = tokio::time::interval(period);
    loop {
        tick.tick().await;
        let Some(adapter) = adapter.upgrade() else {
            return;
        };
        if let Err(err) = adapter.sync_rooms_impl().await {
            tracing::warn!(cause = %err, nsp = %adapter.nsp, "room channel sync failed");
        }
    }
}
