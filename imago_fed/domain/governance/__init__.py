"""How a group decides: actions, the control table, protocols, proposals, delegation."""
