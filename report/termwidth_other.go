//go:build !linux

package report

import "io"

// TerminalColumns is 0 where the terminal is not asked: the status line then
// fits COLUMNS, else 80 columns (report.TerminalWidth).
func TerminalColumns(io.Writer) int { return 0 }
