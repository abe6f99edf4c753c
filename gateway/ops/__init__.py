"""Operations: dead-letter replay and saga recovery, inbox retention, the deep health probe."""
