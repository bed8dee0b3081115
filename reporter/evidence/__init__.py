"""Files that come with reports and messages: recognised, scrubbed, encrypted, stored, downloaded."""
