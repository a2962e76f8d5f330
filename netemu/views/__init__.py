"""What netemu shows besides text: JSON Schema, diagrams, HTML reports and the web view."""
