"""Student models: knowledge view, prompt view and conditional prompt distillation."""
