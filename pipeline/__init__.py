"""公开审批 — the nightly pipeline from the approval system's export to a published release."""
