package main

import "unsafe"

// unsafePointer returns the address of b for an ioctl argument.
func unsafePointer(b *byte) unsafe.Pointer { return unsafe.Pointer(b) }
