"""Rules of this area are added here."""
