"""Operations on running scenarios: `netemu apply` (diff and change)."""
