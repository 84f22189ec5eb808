//! Deliveries recognised by one comparison, without parsing.

/// The exact bytes that precede the payload of every delivery a load-tester
/// subscriber expects (its channel, the pattern it holds, the payload size
/// are all known), so that a delivery is recognised by one comparison
/// instead of parsing four headers: the parser was half of the load
/// tester's CPU when reading 100 subscribers, and the load tester shares
/// the machine with the server it measures. Anything else falls back to
/// [`parse_event`](super::parse_event).
#[derive(Debug, Clone)]
pub(crate) struct DeliveryMatcher {
    prefix: Vec<u8>,
    payload: usize,
}

impl DeliveryMatcher {
    /// Deliveries of `payload`-byte messages: `kind` (`message`, `smessage`
    /// or `pmessage` with `pattern`) on `channel`, in RESP3 pushes or RESP2
    /// arrays.
    pub(crate) fn new(
        kind: &[u8],
        pattern: Option<&[u8]>,
        channel: &[u8],
        payload: usize,
        resp3: bool,
    ) -> Self {
        let parts: Vec<&[u8]> = std::iter::once(kind)
            .chain(pattern)
            .chain([channel])
            .collect();
        let mut prefix = Vec::new();
        prefix.push(if resp3 { b'>' } else { b'*' });
        prefix.extend_from_slice(itoa::Buffer::new().format(parts.len() + 1).as_bytes());
        prefix.extend_from_slice(b"\r\n");
        for part in parts {
            prefix.push(b'$');
            prefix.extend_from_slice(itoa::Buffer::new().format(part.len()).as_bytes());
            prefix.extend_from_slice(b"\r\n");
            prefix.extend_from_slice(part);
            prefix.extend_from_slice(b"\r\n");
        }
        prefix.push(b'$');
        prefix.extend_from_slice(itoa::Buffer::new().format(payload).as_bytes());
        prefix.extend_from_slice(b"\r\n");
        Self { prefix, payload }
    }

    /// The payload and the frame's length, if `buf` starts with a whole
    /// expected delivery.
    pub(crate) fn matches<'a>(&self, buf: &'a [u8]) -> Option<(&'a [u8], usize)> {
        let rest = buf.strip_prefix(self.prefix.as_slice())?;
        let payload = rest.get(..self.payload)?;
        (rest.get(self.payload..self.payload + 2)? == b"\r\n")
            .then_some((payload, self.prefix.len() + self.payload + 2))
    }
}
