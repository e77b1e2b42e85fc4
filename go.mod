module tamavisor

go 1.26.0

tool github.com/usbarmory/tamago/cmd/tamago

require (
	github.com/usbarmory/tamago v1.26.0
	golang.org/x/sys v0.50.0
)
