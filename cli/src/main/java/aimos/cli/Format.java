package aimos.cli;

/** How a command prints what the management API answered ({@code -o}). */
public enum Format {
  table, json, yaml
}
