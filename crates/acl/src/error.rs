//! Why a rule was refused, worded as Redis's `ACLSetUserStringError`.

/// A rule ACL SETUSER, a `user` directive or the ACL file could not apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// `+cmd`, `-cmd` or `+@cat` naming nothing known (Redis's ENOENT):
    /// the ACL file reports these with the rule, being harmless to show.
    #[error("Unknown command or category name in ACL")]
    Unknown,
    #[error("Syntax error")]
    Syntax,
    #[error("Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns")]
    KeyAfterAll,
    #[error("Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels")]
    ChannelAfterAll,
    #[error("The password you are trying to remove from the user does not exist")]
    NoSuchPassword,
    #[error("The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters")]
    BadHash,
    #[error("Duplicate user found. A user can only be defined once in config files")]
    Duplicate,
    #[error("Allowing first-arg of a subcommand is not supported")]
    SubcommandFirstArg,
    /// A selector's `(` without its `)` (reported with its own wording).
    #[error("Wrong format")]
    Unmatched,
}
