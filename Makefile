# tamavisor build, test and run targets. `make help` lists them.

SHELL := /bin/bash
GO ?= go
CC ?= gcc
LD ?= ld
BUILD := build
IMAGE := $(BUILD)/tamavisor.elf
ISO := $(BUILD)/tamavisor.iso

# The TamaGo distribution that matches github.com/usbarmory/tamago in go.mod.
# `go tool tamago` runs it from the user cache directory; TAMAGO may name a
# TamaGo `go` binary directly instead (as upstream examples do).
TAMAGO_VERSION := tamago-go1.26.0
TAMAGO_GOROOT ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/tamago-go/$(TAMAGO_VERSION)
TAMAGO ?=

# Link-time layout: boot/layout.go holds the numbers (a test checks that these agree).
TEXT_ADDRESS := 0x01010000
# Domains (domains/board/layout.go: TextAddress).
DOMAIN_TEXT_ADDRESS := 0x00110000
DOMAINS := hello hostile bench dom0 peer
TAGS := linkcpuinit,linkramstart
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -T $(TEXT_ADDRESS) -R 0x1000 -X main.version=$(VERSION)
TAMAGO_ENV := GOOS=tamago GOOSPKG=github.com/usbarmory/tamago GOARCH=amd64
# The packages that go into the image (the rest are host tools and tests).
IMAGE_PKGS := ./cmd/tamavisor ./boot/... ./x86/... ./mem/... ./vmx/... ./svm/... ./console/... ./hv/... ./ept/... ./xen/... ./abi/... ./domains/...

.PHONY: all image domains iso run test test-host test-fuzz test-integration bench vet fmt clean help toolchain

all: image

help:
	@echo "make image   build $(IMAGE) (the hypervisor, bootable by PVH, Multiboot and Multiboot2)"
	@echo "make iso     build $(ISO) (GRUB, legacy BIOS and UEFI; write it to a USB stick)"
	@echo "make run     boot it in the best test bed here: QEMU/KVM with nested VT-x, else Bochs"
	@echo "make test    host tests, fuzz targets (FUZZTIME each), then integration tests that boot the image in QEMU and Bochs"
	@echo "make bench   image size, boot, exit, event-channel, domain-switch and grant costs in emulated instructions (Bochs)"
	@echo "make vet     gofmt and go vet, for the host and for GOOS=tamago"

# toolchain resolves the TamaGo go command or stops with one line saying what
# is missing and where it was looked for.
toolchain:
	@if [ -n "$(TAMAGO)" ]; then \
		[ -x "$(TAMAGO)" ] || { echo "tamavisor: TamaGo toolchain not found: TAMAGO=$(TAMAGO) is not an executable (see README.md, 'Toolchain')" >&2; exit 1; }; \
	elif [ ! -x "$(TAMAGO_GOROOT)/bin/go" ]; then \
		echo "tamavisor: TamaGo toolchain not found: $(TAMAGO_VERSION) is not installed at $(TAMAGO_GOROOT) (see README.md, 'Toolchain'; or set TAMAGO=/path/to/tamago-go/bin/go)" >&2; exit 1; \
	fi

TAMAGO_GO = $(if $(TAMAGO),$(TAMAGO),$(shell $(GO) tool -n github.com/usbarmory/tamago/cmd/tamago))

# domains builds each Go domain and stages its ELF for the hypervisor's
# go:embed (cmd/tamavisor/images, not tracked).
domains: toolchain
	@mkdir -p $(BUILD)/domains cmd/tamavisor/images
	@for d in $(DOMAINS); do \
		echo "$(TAMAGO_ENV) go build -o $(BUILD)/domains/$$d.elf ./domains/$$d"; \
		$(TAMAGO_ENV) $(TAMAGO_GO) build -tags $(TAGS) -trimpath -ldflags "-T $(DOMAIN_TEXT_ADDRESS) -R 0x1000" -o $(BUILD)/domains/$$d.elf ./domains/$$d || exit 1; \
		cp $(BUILD)/domains/$$d.elf cmd/tamavisor/images/$$d.elf; \
	done
	@# A deliberately truncated image: the tests check that the loader refuses it.
	@head -c 8192 $(BUILD)/domains/hello.elf > cmd/tamavisor/images/truncated.elf
	@# A Xen PVH guest in C (domains/testdata/xenpvh): 32-bit code in an ELF64.
	$(CC) -m32 -ffreestanding -fno-pic -fno-stack-protector -fno-asynchronous-unwind-tables -nostdlib -O2 -Wall -Werror \
		-c domains/testdata/xenpvh/main.c -o $(BUILD)/domains/xenpvh-main.o
	$(CC) -m32 -c domains/testdata/xenpvh/start.S -o $(BUILD)/domains/xenpvh-start.o
	$(LD) -m elf_i386 -T domains/testdata/xenpvh/pvh.ld -o $(BUILD)/domains/xenpvh32.elf $(BUILD)/domains/xenpvh-start.o $(BUILD)/domains/xenpvh-main.o
	objcopy -I elf32-i386 -O elf64-x86-64 $(BUILD)/domains/xenpvh32.elf cmd/tamavisor/images/xenpvh.elf

image: toolchain domains
	@mkdir -p $(BUILD)
	$(TAMAGO_ENV) $(TAMAGO_GO) build -tags $(TAGS) -trimpath -ldflags "$(LDFLAGS)" -o $(IMAGE).tmp ./cmd/tamavisor
	$(GO) run ./cmd/mkboot $(IMAGE).tmp
	@mv $(IMAGE).tmp $(IMAGE)
	@echo "built $(IMAGE) ($$(stat -c %s $(IMAGE)) bytes)"

iso: image
	@rm -rf $(BUILD)/iso && mkdir -p $(BUILD)/iso/boot/grub
	cp $(IMAGE) $(BUILD)/iso/boot/tamavisor.elf
	cp qemu/grub.cfg $(BUILD)/iso/boot/grub/grub.cfg
	grub-mkrescue -o $(ISO) $(BUILD)/iso 2> $(BUILD)/grub-mkrescue.log || { cat $(BUILD)/grub-mkrescue.log >&2; exit 1; }
	@echo "built $(ISO) ($$(stat -c %s $(ISO)) bytes)"

run: iso
	$(GO) run ./cmd/testbed run -image $(IMAGE) -iso $(ISO)

test: vet test-host test-fuzz test-integration

# Fuzz targets run for a fixed budget each: what a guest hands the
# hypervisor, the ring indices a peer writes, the store's requests, and the
# event-channel, grant-table and scheduler state machines.
FUZZ := hv:FuzzHypercall xen/ring:FuzzBack xen/ring:FuzzByteRing xen/xenstore:FuzzDecode xen/xenstore:FuzzStore \
	hv/evtchn:FuzzOps hv/grant:FuzzOps hv/sched:FuzzOps
FUZZTIME ?= 10s

test-fuzz:
	@mkdir -p $(BUILD)
	@for f in $(FUZZ); do \
		pkg=$${f%%:*}; fn=$${f##*:}; \
		echo "fuzz: ./$$pkg $$fn for $(FUZZTIME)"; \
		$(GO) test ./$$pkg -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) > $(BUILD)/fuzz.log 2>&1 || { cat $(BUILD)/fuzz.log; exit 1; }; \
	done

test-host:
	$(GO) test ./...

test-integration: iso
	$(GO) test -tags integration -count=1 -timeout 25m -v ./qemu/... 2>&1 | tee $(BUILD)/integration.log | grep -E '^(=== RUN|--- |PASS|FAIL|ok|panic|\s+\S+_test.go)'; exit $${PIPESTATUS[0]}

bench: image
	$(GO) run ./cmd/testbed bench -image $(IMAGE)

vet: toolchain domains
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(TAMAGO_ENV) $(TAMAGO_GO) vet -tags $(TAGS) $(IMAGE_PKGS)

clean:
	rm -rf $(BUILD) cmd/tamavisor/images
