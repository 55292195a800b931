package report

import (
	"io"
	"os"
	"syscall"
	"unsafe"
)

// TerminalColumns asks the terminal behind w for its width in columns (the
// TIOCGWINSZ ioctl); 0 when w is not a terminal or does not say.
func TerminalColumns(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok {
		return 0
	}
	var ws struct{ rows, cols, xpixel, ypixel uint16 }
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), uintptr(syscall.TIOCGWINSZ), uintptr(unsafe.Pointer(&ws)))
	if errno != 0 {
		return 0
	}
	return int(ws.cols)
}
