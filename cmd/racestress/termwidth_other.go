//go:build !linux

package main

import "io"

// terminalWidth is 0 where the terminal is not asked: the status line then
// fits COLUMNS, else 80 columns (report.TerminalWidth).
func terminalWidth(io.Writer) int { return 0 }
