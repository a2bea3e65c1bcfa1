//! What an admin handler works with: the node and its client, around the
//! same narrow context a data handler gets (which it derefs to, for the
//! view, the reply helpers and the effects).

use std::ops::{Deref, DerefMut};

use ferrokv_resp::Protocol;

use crate::command::Entry;
use crate::net::client::Client;
use crate::server::Server;

pub use ferrokv_commands::ctx::Reply;

pub struct Ctx<'a> {
    pub server: &'a Server,
    pub client: &'a mut Client,
    pub entry: &'a Entry,
    pub data: ferrokv_commands::Ctx<'a>,
}

impl<'a> Deref for Ctx<'a> {
    type Target = ferrokv_commands::Ctx<'a>;
    fn deref(&self) -> &Self::Target {
        &self.data
    }
}

impl DerefMut for Ctx<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.data
    }
}

impl Ctx<'_> {
    /// Switches the client's protocol (HELLO, RESET); the rest of this
    /// reply is already in the new one, as in Redis.
    pub fn set_proto(&mut self, proto: Protocol) {
        self.client.proto = proto;
        self.data.proto = proto;
    }
}
