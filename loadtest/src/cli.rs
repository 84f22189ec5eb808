//! The command line: the subcommands and the flags every one of them takes.
//! Each mode's own flags live with the mode ([`crate::pubsub::PubsubArgs`],
//! [`crate::socketio::SocketioArgs`]); the flags both share live in
//! [`crate::flags`].

use clap::{Parser, Subcommand};

use crate::failover::FailoverArgs;
use crate::pubsub::PubsubArgs;
use crate::socketio::{SioNodeArgs, SocketioArgs};

/// Fan-out throughput and latency of RESP pub/sub brokers, side by side.
///
/// The load tester speaks RESP itself (no client library), so that what it
/// measures is the broker's cost, not its own.
#[derive(Debug, Parser)]
#[command(name = "respub-loadtest", version, about, long_about = None)]
pub(crate) struct Cli {
    /// Log filter (tracing syntax), also read from RUST_LOG.
    #[arg(long, global = true, default_value = "warn")]
    pub(crate) log: String,
    /// Tokio worker threads for the load tester (default: one per core).
    #[arg(long, global = true)]
    pub(crate) threads: Option<usize>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// What to run.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Pub/sub scenarios against one or more servers.
    ///
    /// Example: respub-loadtest pubsub --spawn respub --spawn redis-server
    /// --scenario fanout --subscribers 100 --duration 5
    Pubsub(PubsubArgs),
    /// Socket.IO clusters: clients spread over N server nodes sharing rooms
    /// through the broker, for several stacks side by side.
    ///
    /// Example: respub-loadtest socketio --nodes 4 --stack respub
    /// --stack node-redis --scenario rooms
    Socketio(SocketioArgs),
    /// A Sentinel deployment per server kind (master, two replicas, three
    /// redis-sentinel): publishers and subscribers through Sentinel while
    /// the master is killed with SIGKILL, and how long until they are back.
    ///
    /// Example: respub-loadtest failover --spawn respub --spawn redis-server
    /// --subscribers 20 --rate 1000
    Failover(FailoverArgs),
    /// A Rust Socket.IO node (what `socketio` starts for its Rust stacks).
    #[command(hide = true)]
    SioNode(SioNodeArgs),
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::figures::{LoadModel, ScenarioKind};
    use crate::target::ServerKind;

    #[test]
    fn parses_the_done_command() {
        let cli = Cli::try_parse_from([
            "respub-loadtest",
            "pubsub",
            "--spawn",
            "respub",
            "--spawn",
            "redis-server",
            "--scenario",
            "fanout",
        ])
        .unwrap();
        let Command::Pubsub(args) = cli.command else {
            panic!("not pubsub")
        };
        assert_eq!(args.spawn, vec![ServerKind::Respub, ServerKind::Redis]);
        assert_eq!(args.scenarios, vec![ScenarioKind::Fanout]);
        assert!(matches!(
            args.params(ScenarioKind::Fanout).load,
            LoadModel::Closed { window: 1000 }
        ));
    }

    #[test]
    fn rejects_small_payloads_and_rate_with_window() {
        assert!(Cli::try_parse_from(["x", "pubsub", "--payload", "10"]).is_err());
        assert!(Cli::try_parse_from(["x", "pubsub", "--rate", "10", "--window", "5"]).is_err());
        let cli = Cli::try_parse_from(["x", "pubsub", "--scenario", "idle,churn", "--rate", "100"])
            .unwrap();
        let Command::Pubsub(args) = cli.command else {
            panic!("not pubsub")
        };
        assert_eq!(
            args.scenarios,
            vec![ScenarioKind::Idle, ScenarioKind::Churn]
        );
        assert!(matches!(
            args.params(ScenarioKind::Churn).load,
            LoadModel::Open { .. }
        ));
    }

    #[test]
    fn help_says_where_respub_server_comes_from() {
        use clap::CommandFactory;
        let mut cmd = Cli::command();
        let help = cmd
            .find_subcommand_mut("pubsub")
            .unwrap()
            .render_long_help()
            .to_string();
        assert!(help.contains("--respub-bin"), "{help}");
        assert!(help.contains("next to this binary"), "{help}");
    }
}
