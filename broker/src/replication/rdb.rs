//! The RDB a full resynchronisation sends: an empty dataset, since respub
//! keeps no keys.
//!
//! Version 10 (Redis 7.0's): a 7.0 replica refuses anything newer ("Can't
//! handle RDB format version"), and 7.2 reads it. The file is the magic
//! `REDIS0010`, the EOF opcode and the CRC-64 (Jones, reflected, as Redis'
//! `crc64`) of what precedes it, little-endian.

/// An empty RDB, version 10.
pub(crate) const EMPTY_RDB: &[u8] = b"REDIS0010\xff\xa9\xfd\x37\xfe\x89\xa7\x7e\xeb";

#[cfg(test)]
mod tests {
    use super::*;

    /// Redis' CRC-64: the Jones polynomial, reflected, initial value 0.
    fn crc64(data: &[u8]) -> u64 {
        const POLY: u64 = 0x95ac_9329_ac4b_c9b5;
        let mut crc = 0u64;
        for &byte in data {
            crc ^= u64::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ POLY
                } else {
                    crc >> 1
                };
            }
        }
        crc
    }

    #[test]
    fn crc_is_redis_and_the_empty_rdb_carries_it() {
        // Redis' own test vector (crc64.c).
        assert_eq!(crc64(b"123456789"), 0xe9c6_d914_c4b8_d9ca);
        let (body, crc) = EMPTY_RDB.split_at(EMPTY_RDB.len() - 8);
        assert_eq!(body, b"REDIS0010\xff");
        assert_eq!(crc, crc64(body).to_le_bytes());
    }
}
