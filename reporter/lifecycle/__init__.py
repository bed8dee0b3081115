"""How an installation lives for years: retention with crypto-shredding, key rotation, backups, moves."""
