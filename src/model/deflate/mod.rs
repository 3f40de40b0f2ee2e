//! permessage-deflate (RFC 7692), sans-IO: the offer a client makes and the server's answer checked against it
//! (§7.1), the read side that inflates compressed frames into plain ones before the WebSocket library sees them
//! ([`ReadSide`]), and the compressor for the messages we send ([`Compressor`]).
//!
//! tungstenite 0.30 has no permessage-deflate and fails on any frame with RSV1 set, so sockscope does it around
//! the library: received bytes pass through [`ReadSide`] (a frame whose RSV1 is set is inflated and handed on as
//! plain frames; every other frame passes untouched, in place), and a message we send is compressed here and
//! handed to the library as a ready-made frame with RSV1 set.

mod compress;
mod offer;
mod read;

pub use compress::Compressor;
pub use offer::{
    DEFAULT_OFFER, DeflateOffer, Extension, Negotiated, format_extensions, negotiate, offers_in,
    parse_extensions, parse_offers,
};
pub use read::{Fact, ReadSide, WireError};

/// The extension's registered name.
pub const NAME: &str = "permessage-deflate";

/// What the connection asks for: whether to offer permessage-deflate, and the exact offer (one or more
/// `permessage-deflate; …` elements, comma-separated, in order of preference).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct DeflateSetting {
    /// Offer compression (on by default, as browsers do).
    pub enabled: bool,
    /// The `Sec-WebSocket-Extensions` value offered.
    pub offer: String,
}

impl Default for DeflateSetting {
    fn default() -> Self {
        Self {
            enabled: true,
            offer: DEFAULT_OFFER.to_owned(),
        }
    }
}

impl DeflateSetting {
    /// The offers to make, or `None` when compression is off. An offer that does not parse is an error in
    /// plain words, naming the parameter.
    pub fn offers(&self) -> Result<Option<Vec<DeflateOffer>>, String> {
        if !self.enabled {
            return Ok(None);
        }
        parse_offers(&self.offer).map(Some)
    }
}
