"""The reporter's side of the domain: a report from draft to sealed rows, and follow-up with a receipt."""
