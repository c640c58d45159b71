//! The tables of the store: one RocksDB column family each, with how keys
//! and values are encoded.

/// A table: a column family name and what it holds.
pub trait Table {
    /// The column family's name.
    const NAME: &'static str;
}

macro_rules! table {
    ($(#[$doc:meta])* $ty:ident = $name:literal) => {
        $(#[$doc])*
        pub struct $ty;
        impl Table for $ty {
            const NAME: &'static str = $name;
        }
    };
}

table!(
    /// height (u64 BE) -> encoded `Header`.
    Headers = "headers"
);
table!(
    /// height (u64 BE) -> encoded `Block`.
    Bodies = "bodies"
);
table!(
    /// height (u64 BE) -> encoded `CommitCertificate` (the canonical one
    /// once the next block carries it).
    Commits = "commits"
);
table!(
    /// block hash -> height (u64 BE).
    BlockHashes = "block_hashes"
);
table!(
    /// transaction id -> height (u64 BE) and index (u32 BE).
    TxIndex = "tx_index"
);
table!(
    /// height (u64 BE) -> encoded `Vec<EventRecord>`.
    Events = "events"
);
table!(
    /// state key -> encoded value: the current state.
    State = "state"
);
table!(
    /// value hash -> encoded value: every value the state ever held, so
    /// that past states can be read through their state root.
    StateValues = "state_values"
);
table!(
    /// node hash -> encoded state-tree node (content-addressed, never
    /// deleted: the archive).
    TreeNodes = "tree_nodes"
);
table!(
    /// name -> value: schema version, genesis, head, finalised height.
    Meta = "meta"
);
table!(
    /// The consensus log: what the validator is about to sign, synced
    /// before any vote leaves the process.
    ConsensusLog = "consensus_log"
);

/// Every column family, in creation order.
pub const ALL: [&str; 11] = [
    Headers::NAME,
    Bodies::NAME,
    Commits::NAME,
    BlockHashes::NAME,
    TxIndex::NAME,
    Events::NAME,
    State::NAME,
    StateValues::NAME,
    TreeNodes::NAME,
    Meta::NAME,
    ConsensusLog::NAME,
];

/// Keys of the `meta` table.
pub mod meta {
    /// u32 LE: the schema version.
    pub const SCHEMA: &[u8] = b"schema_version";
    /// The encoded genesis document.
    pub const GENESIS: &[u8] = b"genesis";
    /// The genesis state root.
    pub const GENESIS_ROOT: &[u8] = b"genesis_state_root";
    /// A continuation chain's starting snapshot of the old chain's state.
    pub const GENESIS_STATE: &[u8] = b"genesis_state";
    /// u64 BE: the highest stored height.
    pub const HEAD: &[u8] = b"head";
    /// u64 BE: the highest finalised height.
    pub const FINALIZED: &[u8] = b"finalized";
    /// Present while a node has the store open; removed on clean shutdown.
    pub const RUNNING: &[u8] = b"running";
}

/// Key of the consensus log's signing record.
pub const CONSENSUS_LOG_KEY: &[u8] = b"signed";

/// Key of the block this validator last proposed.
pub const OWN_PROPOSAL_KEY: &[u8] = b"own_proposal";

/// A height as a table key.
pub fn height_key(h: u64) -> [u8; 8] {
    h.to_be_bytes()
}
