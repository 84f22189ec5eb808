//! Every Redis 7 command with its ACL categories.
//!
//! ACL rules may name any Redis command or category (`+get`, `-@dangerous`)
//! and an operator's aclfile must load unchanged, so the table holds all of
//! Redis' commands, not only respub's. `commands.txt` is generated from a
//! real redis-server by `broker/tools/gen-acl-table.py`: one line per
//! command or `container|subcommand`, its full name then its categories.

use std::collections::HashMap;
use std::sync::LazyLock;

/// Redis' ACL categories, in the order `ACL CAT` lists them.
pub(crate) const CATEGORIES: [&str; 21] = [
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// One command or subcommand.
#[derive(Debug)]
pub(crate) struct Command {
    /// Lowercase full name: `get`, `client|kill`.
    pub name: &'static str,
    /// Bit `i` set: the command is in `CATEGORIES[i]`.
    pub categories: u32,
    /// Ids of its subcommands (a container command).
    pub subcommands: Vec<usize>,
    /// Whether it is a subcommand.
    pub is_sub: bool,
}

/// The command table; a command's id is its index.
#[derive(Debug)]
pub(crate) struct Table {
    pub commands: Vec<Command>,
    by_name: HashMap<&'static str, usize>,
}

impl Table {
    /// The id of a command by full name, any case. Permission checks pass
    /// the command table's lowercase names, found without allocating.
    pub(crate) fn id(&self, name: &str) -> Option<usize> {
        match self.by_name.get(name) {
            Some(id) => Some(*id),
            None => self
                .by_name
                .get(name.to_ascii_lowercase().as_str())
                .copied(),
        }
    }

    /// Number of ids.
    pub(crate) fn len(&self) -> usize {
        self.commands.len()
    }
}

/// The category's bit, by name without the `@`.
pub(crate) fn category(name: &str) -> Option<u32> {
    CATEGORIES
        .iter()
        .position(|c| c.eq_ignore_ascii_case(name))
        .map(|i| 1 << i)
}

/// The table, parsed once.
pub(crate) static TABLE: LazyLock<Table> = LazyLock::new(|| {
    let mut commands: Vec<Command> = include_str!("commands.txt")
        .lines()
        .filter_map(|line| {
            let mut words = line.split(' ');
            let name = words.next().filter(|n| !n.is_empty())?;
            let categories = words.filter_map(category).fold(0, |a, b| a | b);
            Some(Command {
                name,
                categories,
                subcommands: Vec::new(),
                is_sub: name.contains('|'),
            })
        })
        .collect();
    let by_name: HashMap<&'static str, usize> = commands
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name, i))
        .collect();
    for i in 0..commands.len() {
        let parent = commands
            .get(i)
            .and_then(|c| c.name.split_once('|'))
            .and_then(|(parent, _)| by_name.get(parent).copied());
        if let Some(parent) = parent.and_then(|p| commands.get_mut(p)) {
            parent.subcommands.push(i);
        }
    }
    Table { commands, by_name }
});

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn the_table_knows_redis_commands_and_their_categories() {
        let t = &*TABLE;
        assert!(t.len() > 300);
        let publish = t.id("PUBLISH").unwrap();
        assert_eq!(
            t.commands[publish].categories,
            category("pubsub").unwrap() | category("fast").unwrap()
        );
        let client = t.id("client").unwrap();
        let kill = t.id("client|kill").unwrap();
        assert!(t.commands[client].subcommands.contains(&kill));
        assert!(t.commands[kill].is_sub);
        assert!(t.id("client|setinfo").is_some());
        assert!(t.id("get").is_some());
        assert!(t.id("nosuchcommand").is_none());
    }
}
