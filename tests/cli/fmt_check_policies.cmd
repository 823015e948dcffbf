fmt --check policies
