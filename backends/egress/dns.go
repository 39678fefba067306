package egress

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
)

// DNS record types and response codes the responder uses.
const (
	dnsTypeA    = 1
	dnsClassIN  = 1
	dnsNXDomain = 3
	dnsFormErr  = 1
	dnsNotImp   = 4
	dnsTTL      = 60
)

// dnsQuestion is the single question of a query.
type dnsQuestion struct {
	name      string
	qtype     uint16
	qclass    uint16
	end       int // offset just past the question
	opcode    uint8
	recursion bool
	id        uint16
}

var errDNSFormat = errors.New("malformed DNS query")

// parseQuery reads the header and the one question of a DNS query.
func parseQuery(msg []byte) (dnsQuestion, error) {
	var q dnsQuestion
	if len(msg) < 12 {
		return q, errDNSFormat
	}
	q.id = binary.BigEndian.Uint16(msg)
	flags := binary.BigEndian.Uint16(msg[2:])
	if flags&0x8000 != 0 || binary.BigEndian.Uint16(msg[4:]) != 1 {
		return q, errDNSFormat
	}
	q.opcode = uint8(flags>>11) & 0xf
	q.recursion = flags&0x0100 != 0
	var labels []string
	i := 12
	for {
		if i >= len(msg) {
			return q, errDNSFormat
		}
		n := int(msg[i])
		i++
		if n == 0 {
			break
		}
		if n > 63 || i+n > len(msg) {
			return q, errDNSFormat
		}
		labels = append(labels, string(msg[i:i+n]))
		i += n
	}
	if i+4 > len(msg) {
		return q, errDNSFormat
	}
	q.name = strings.ToLower(strings.Join(labels, "."))
	q.qtype = binary.BigEndian.Uint16(msg[i:])
	q.qclass = binary.BigEndian.Uint16(msg[i+2:])
	q.end = i + 4
	return q, nil
}

// dnsReply builds the answer to query q: rcode, and an A record for addr
// when addr is valid.
func dnsReply(query []byte, q dnsQuestion, rcode int, addr netip.Addr) []byte {
	out := make([]byte, 0, q.end+16)
	out = append(out, query[:q.end]...)
	flags := uint16(0x8000) | uint16(q.opcode)<<11 | 0x0400 | 0x0080 | uint16(rcode)
	if q.recursion {
		flags |= 0x0100
	}
	binary.BigEndian.PutUint16(out[2:], flags)
	binary.BigEndian.PutUint16(out[4:], 1)
	binary.BigEndian.PutUint16(out[6:], 0)
	binary.BigEndian.PutUint16(out[8:], 0)
	binary.BigEndian.PutUint16(out[10:], 0)
	if addr.IsValid() {
		binary.BigEndian.PutUint16(out[6:], 1)
		a := addr.As4()
		out = append(out, 0xc0, 12, 0, dnsTypeA, 0, dnsClassIN)
		out = binary.BigEndian.AppendUint32(out, dnsTTL)
		out = append(out, 0, 4)
		out = append(out, a[:]...)
	}
	return out
}

// answerDNS answers one query: allowed names get an A record with their
// local address and no other records; every other name is NXDOMAIN.
func answerDNS(query []byte, lookup func(name string) (netip.Addr, bool)) []byte {
	q, err := parseQuery(query)
	if err != nil {
		if len(query) < 12 {
			return nil
		}
		return dnsReply(query[:12], dnsQuestion{id: q.id, end: 12}, dnsFormErr, netip.Addr{})
	}
	if q.opcode != 0 || q.qclass != dnsClassIN {
		return dnsReply(query, q, dnsNotImp, netip.Addr{})
	}
	addr, ok := lookup(q.name)
	if !ok {
		return dnsReply(query, q, dnsNXDomain, netip.Addr{})
	}
	if q.qtype != dnsTypeA {
		// The name exists but has only an IPv4 address here.
		return dnsReply(query, q, 0, netip.Addr{})
	}
	return dnsReply(query, q, 0, addr)
}

// serveDNSUDP answers queries on pc until it is closed.
func serveDNSUDP(pc net.PacketConn, lookup func(string) (netip.Addr, bool)) {
	buf := make([]byte, 1500)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		query := append([]byte(nil), buf[:n]...)
		go func() {
			if reply := answerDNS(query, lookup); reply != nil {
				pc.WriteTo(reply, from)
			}
		}()
	}
}

// serveDNSTCP answers length-prefixed queries on each connection of l.
func serveDNSTCP(l net.Listener, lookup func(string) (netip.Addr, bool)) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			for {
				var size [2]byte
				if _, err := io.ReadFull(c, size[:]); err != nil {
					return
				}
				query := make([]byte, binary.BigEndian.Uint16(size[:]))
				if _, err := io.ReadFull(c, query); err != nil {
					return
				}
				reply := answerDNS(query, lookup)
				if reply == nil {
					return
				}
				if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(reply))), reply...)); err != nil {
					return
				}
			}
		}()
	}
}
