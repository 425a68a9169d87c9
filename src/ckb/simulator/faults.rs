//! Injected failures: slow responses, HTML error pages, hung requests, closed
//! connections and a server that is down.
//!
//! Closing a connection without a response needs help from below axum,
//! because a handler can only return a response. Every accepted connection
//! is wrapped in an [`AbortableStream`] whose switch the handler can flip
//! through [`ConnectionInfo`]. Once it is flipped, writes fail, so hyper
//! drops the connection without sending a byte.

use std::{
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    extract::{connect_info::Connected, ConnectInfo, Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
    serve::{IncomingStream, Listener},
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
};

use super::{store::FaultKind, SimState};

/// Maximum time a hung request is held before its connection is
/// closed, so that a client without a timeout still finishes.
pub(crate) const MAX_HANG: Duration = Duration::from_secs(120);

/// Failures the simulator injects. All rates are shares between 0 and 1.
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    /// Delay before every request to a CKB path is handled.
    pub latency: Duration,
    /// Share of lead requests that get ThinkPHP's HTTP 500 HTML page.
    pub error_rate: f64,
    /// Share of lead requests that get no response until the client gives up.
    /// The connection is closed after 120 seconds at the latest.
    pub timeout_rate: f64,
    /// Share of lead requests whose connection is closed with no response.
    pub drop_rate: f64,
    /// When set, every request to a CKB path has its connection closed
    /// with no response. `/__sim/counts` still responds.
    pub down: bool,
    /// When set, a lead request picked for an error, hang or drop is
    /// processed and stored first, so only the response is lost. A retry then
    /// gets 已存在. When unset, nothing is stored.
    pub process_before_fault: bool,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            latency: Duration::ZERO,
            error_rate: 0.0,
            timeout_rate: 0.0,
            drop_rate: 0.0,
            down: false,
            process_before_fault: false,
        }
    }
}

/// The failure picked for one lead request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LeadFault {
    ServerError,
    Hang,
    Drop,
}

impl Faults {
    /// Picks the failure for a lead request from a uniform `roll` in [0, 1).
    /// The rates are stacked in the order error, timeout, drop.
    pub(crate) fn pick_lead_fault(&self, roll: f64) -> Option<LeadFault> {
        let mut threshold = self.error_rate;
        if roll < threshold {
            return Some(LeadFault::ServerError);
        }
        threshold += self.timeout_rate;
        if roll < threshold {
            return Some(LeadFault::Hang);
        }
        threshold += self.drop_rate;
        if roll < threshold {
            return Some(LeadFault::Drop);
        }
        None
    }
}

/// The peer of a connection and the switch that closes it without a
/// response.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionInfo {
    pub peer: SocketAddr,
    abort: Arc<AtomicBool>,
}

impl ConnectionInfo {
    /// Marks the connection to be closed and returns a placeholder
    /// response that hyper fails to write.
    pub(crate) fn close_without_answer(&self) -> Response {
        self.abort.store(true, Ordering::SeqCst);
        ().into_response()
    }
}

impl Connected<IncomingStream<'_, FaultListener>> for ConnectionInfo {
    fn connect_info(stream: IncomingStream<'_, FaultListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// A TCP listener whose connections can be closed from a handler.
pub(crate) struct FaultListener {
    listener: TcpListener,
}

impl FaultListener {
    pub(crate) fn new(listener: TcpListener) -> Self {
        FaultListener { listener }
    }
}

impl Listener for FaultListener {
    type Io = AbortableStream;
    type Addr = ConnectionInfo;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.listener.accept().await {
                Ok((stream, peer)) => {
                    let abort = Arc::new(AtomicBool::new(false));
                    let info = ConnectionInfo {
                        peer,
                        abort: abort.clone(),
                    };
                    return (AbortableStream { stream, abort }, info);
                }
                Err(error) => {
                    // Accept errors such as EMFILE are usually transient, so
                    // wait briefly instead of spinning.
                    tracing::warn!(%error, "CKB simulator failed to accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(ConnectionInfo {
            peer: self.listener.local_addr()?,
            abort: Arc::new(AtomicBool::new(false)),
        })
    }
}

/// A TCP stream that reads end-of-stream and fails every write once its
/// connection was marked to be closed.
pub(crate) struct AbortableStream {
    stream: TcpStream,
    abort: Arc<AtomicBool>,
}

impl AbortableStream {
    fn is_aborted(&self) -> bool {
        self.abort.load(Ordering::SeqCst)
    }
}

fn aborted_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "connection closed by an injected fault",
    )
}

impl AsyncRead for AbortableStream {
    fn poll_read(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.is_aborted() {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.stream).poll_read(context, buffer)
    }
}

impl AsyncWrite for AbortableStream {
    fn poll_write(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.is_aborted() {
            return Poll::Ready(Err(aborted_error()));
        }
        Pin::new(&mut this.stream).poll_write(context, buffer)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffers: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.is_aborted() {
            return Poll::Ready(Err(aborted_error()));
        }
        Pin::new(&mut this.stream).poll_write_vectored(context, buffers)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.is_aborted() {
            return Poll::Ready(Err(aborted_error()));
        }
        Pin::new(&mut this.stream).poll_flush(context)
    }

    fn poll_shutdown(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(context)
    }
}

/// Applies the connection-wide faults (down, latency) to every CKB path.
pub(crate) async fn apply_connection_faults(
    State(state): State<Arc<SimState>>,
    ConnectInfo(connection): ConnectInfo<ConnectionInfo>,
    request: Request,
    next: Next,
) -> Response {
    let faults = state.faults();
    if faults.down {
        state.record_fault(FaultKind::RefusedWhileDown);
        tracing::debug!(path = %request.uri().path(), "CKB simulator is down, closing the connection");
        return connection.close_without_answer();
    }

    if !faults.latency.is_zero() && !state.sleep_unless_shutdown(faults.latency).await {
        return connection.close_without_answer();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lead_faults_stack_in_order() {
        let faults = Faults {
            error_rate: 0.1,
            timeout_rate: 0.2,
            drop_rate: 0.3,
            ..Faults::default()
        };
        assert_eq!(faults.pick_lead_fault(0.05), Some(LeadFault::ServerError));
        assert_eq!(faults.pick_lead_fault(0.15), Some(LeadFault::Hang));
        assert_eq!(faults.pick_lead_fault(0.45), Some(LeadFault::Drop));
        assert_eq!(faults.pick_lead_fault(0.65), None);
    }

    #[test]
    fn default_faults_never_fire() {
        assert_eq!(Faults::default().pick_lead_fault(0.0), None);
    }
}
