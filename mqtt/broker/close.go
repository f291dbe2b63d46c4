package broker

import (
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// CloseServer stops a mochi server like its Close, without Close's
// deadlock in mochi v2.7.9: Close disconnects each listener's clients
// through Clients.GetByListener, which takes the clients' read lock twice
// (once more in Len). A client whose session ends at that moment queues
// for the write lock between the two, and the read lock taken second
// waits for it for ever. The broker then never stops: a SIGTERM that
// waits on it, or the test that hung in TestPublishWhileDisconnected.
//
// Here each listener is closed first with a disconnect that reads the
// clients under one lock (GetAll). Close then finds every listener
// already closed and skips its own disconnect pass.
func CloseServer(srv *mochi.Server) error {
	srv.Listeners.CloseAll(func(listener string) {
		for _, cl := range srv.Clients.GetAll() {
			if cl.Net.Listener == listener && !cl.Closed() {
				_ = srv.DisconnectClient(cl, packets.ErrServerShuttingDown)
			}
		}
	})
	return srv.Close()
}
