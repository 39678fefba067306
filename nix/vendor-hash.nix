"sha256-VmhkqNdlbY0d/A/cGqejYrZv9ksxXRk64YN3nkoEnaA="
