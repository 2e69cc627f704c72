//! Random identifiers for the runner, its offers and its RPC calls.
//!
//! Same shape as n8n's runner: 22 characters from `A-Z a-z 0-9`, each drawn from the OS's
//! cryptographic RNG by taking 6 random bits and discarding values >= 62 (no modulo bias).

const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const ID_LEN: usize = 22;

/// A fresh 22-character identifier.
pub fn new_id() -> String {
    let mut id = String::with_capacity(ID_LEN);
    let mut random = [0u8; 32];
    while id.len() < ID_LEN {
        fill_random(&mut random);
        for byte in random {
            let index = usize::from(byte & 0x3f);
            if index < ALPHABET.len() && id.len() < ID_LEN {
                id.push(char::from(ALPHABET[index]));
            }
        }
    }
    id
}

/// A uniform random integer in `0..=max`.
pub fn random_up_to(max: u32) -> u32 {
    let span = u64::from(max) + 1;
    // Rejection sampling keeps the draw uniform: drop values from the incomplete last block.
    let limit = u64::from(u32::MAX) + 1 - (u64::from(u32::MAX) + 1) % span;
    loop {
        let mut bytes = [0u8; 4];
        fill_random(&mut bytes);
        let value = u64::from(u32::from_ne_bytes(bytes));
        if value < limit {
            return (value % span) as u32;
        }
    }
}

fn fill_random(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the OS random number generator is unavailable");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_22_alphanumeric_characters() {
        for _ in 0..100 {
            let id = new_id();
            assert_eq!(id.len(), 22);
            assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()));
        }
    }

    #[test]
    fn ids_differ() {
        assert_ne!(new_id(), new_id());
    }

    #[test]
    fn random_up_to_stays_in_range_and_reaches_both_ends() {
        let draws: Vec<u32> = (0..2000).map(|_| random_up_to(3)).collect();
        assert!(draws.iter().all(|&d| d <= 3));
        assert!(draws.contains(&0) && draws.contains(&3));
    }
}
