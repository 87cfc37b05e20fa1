package io.invmux.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.invmux.TestData;
import io.invmux.fault.FaultProxy;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Two sidecar processes (real JVMs from the packaged jar) joined by three loopback links, each through a fault
 * proxy so one can be killed mid-transfer. Applications use the gRPC API and the TCP forwarding proxy.
 */
class EndToEndIT {
    private static final long SIZE = Long.getLong("it.size.mib", 100) * 1024 * 1024;

    private final ExecutorService pool = Executors.newCachedThreadPool();
    private final List<FaultProxy> proxies = new ArrayList<>();
    private final List<ManagedChannel> channels = new ArrayList<>();
    private SidecarProcess podA;
    private SidecarProcess podB;
    private ServerSocket echoServer;

    @BeforeEach
    void startSidecars() throws Exception {
        echoServer = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
        pool.submit(this::echoLoop);
        int linkPort = SidecarProcess.freePort();
        podB = SidecarProcess.start("pod-b", List.of("admin.address=", "listeners.0=tcp://127.0.0.1:" + linkPort,
                "services.0.name=echo", "services.0.target=127.0.0.1:" + echoServer.getLocalPort()), List.of());
        List<String> a = new ArrayList<>(List.of("admin.address=", "listeners=[]", "peers.0.name=pod-b"));
        for (int i = 0; i < 3; i++) {
            FaultProxy p = FaultProxy.start(new InetSocketAddress("127.0.0.1", linkPort));
            proxies.add(p);
            a.add("peers.0.links." + i + ".address=" + p.uri());
        }
        a.add("forwards.0.listen=127.0.0.1:0");
        a.add("forwards.0.peer=pod-b");
        a.add("forwards.0.service=echo");
        podA = SidecarProcess.start("pod-a", a, List.of());
        ManagedChannel ch = channel(podA);
        await().atMost(Duration.ofSeconds(30)).until(() -> HealthGrpc.newBlockingStub(ch)
                .check(HealthCheckRequest.newBuilder().setService("readiness").build()).getStatus()
                == HealthCheckResponse.ServingStatus.SERVING);
    }

    @AfterEach
    void stopAll() throws Exception {
        channels.forEach(ManagedChannel::shutdownNow);
        int a = podA == null ? 0 : podA.stop();
        int b = podB == null ? 0 : podB.stop();
        proxies.forEach(FaultProxy::close);
        echoServer.close();
        pool.shutdownNow();
        assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
        assertThat(a).as("pod-a exit code after SIGTERM").isZero();
        assertThat(b).as("pod-b exit code after SIGTERM").isZero();
    }

    private ManagedChannel channel(SidecarProcess p) {
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", p.apiPort).usePlaintext().build();
        channels.add(ch);
        return ch;
    }

    private Void echoLoop() throws IOException {
        while (!echoServer.isClosed()) {
            Socket s;
            try {
                s = echoServer.accept();
            } catch (IOException e) {
                return null;
            }
            pool.submit(() -> {
                try (s) {
                    s.getInputStream().transferTo(s.getOutputStream());
                    s.shutdownOutput();
                }
                return null;
            });
        }
        return null;
    }

    private static OutputStream counting(OutputStream out, AtomicLong counter) {
        return new java.io.FilterOutputStream(out) {
            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                out.write(b, off, len);
                counter.addAndGet(len);
            }
        };
    }

    private void killOneLinkWhen(AtomicLong written) {
        if (!Boolean.parseBoolean(System.getProperty("it.kill", "true"))) {
            return;
        }
        pool.submit(() -> {
            await().atMost(Duration.ofSeconds(120)).until(() -> written.get() > SIZE * 2 / 5);
            proxies.get(1).reset();
            return null;
        });
    }

    @Test
    void aStreamOpenedOverGrpcCarries100MiBEachWayWhileALinkIsKilled() throws Exception {
        var acceptor = GrpcStream.accept(channel(podB), "bulk");
        var opener = GrpcStream.open(channel(podA), "pod-b", "bulk");
        opener.awaitInfo(30);
        assertThat(acceptor.awaitInfo(30).getPeer()).isEqualTo("pod-a");
        AtomicLong written = new AtomicLong();
        Future<String> aToB = pool.submit(() -> {
            String d = TestData.write(counting(opener.out, written), SIZE, 256 * 1024, 1);
            opener.out.close();
            return d;
        });
        Future<String> bToA = pool.submit(() -> {
            String d = TestData.write(acceptor.out, SIZE, 256 * 1024, 2);
            acceptor.out.close();
            return d;
        });
        Future<TestData.Digest> atB = pool.submit(() -> TestData.read(acceptor.in));
        Future<TestData.Digest> atA = pool.submit(() -> TestData.read(opener.in));
        killOneLinkWhen(written);
        assertThat(atB.get(150, TimeUnit.SECONDS).sha256()).isEqualTo(aToB.get(10, TimeUnit.SECONDS));
        assertThat(atA.get(150, TimeUnit.SECONDS).sha256()).isEqualTo(bToA.get(10, TimeUnit.SECONDS));
        assertThat(proxies.get(1).connectionsAccepted()).as("the killed link was redialed").isGreaterThan(1);
    }

    @Test
    void aPlainTcpClientGetsBondedTransportThroughTheForwardingProxy() throws Exception {
        int forwardPort = forwardPort();
        try (Socket client = new Socket("127.0.0.1", forwardPort)) {
            AtomicLong written = new AtomicLong();
            Future<String> sent = pool.submit(() -> {
                String d = TestData.write(counting(client.getOutputStream(), written), SIZE, 256 * 1024, 3);
                client.shutdownOutput();
                return d;
            });
            InputStream in = client.getInputStream();
            Future<TestData.Digest> echoed = pool.submit(() -> TestData.read(in));
            killOneLinkWhen(written);
            TestData.Digest got = echoed.get(150, TimeUnit.SECONDS);
            assertThat(got.bytes()).isEqualTo(SIZE);
            assertThat(got.sha256()).isEqualTo(sent.get(10, TimeUnit.SECONDS));
        }
    }

    private int forwardPort() {
        var forwards = io.invmux.proto.v1.ForwardServiceGrpc.newBlockingStub(channel(podA))
                .listForwards(io.invmux.proto.v1.ListForwardsRequest.getDefaultInstance());
        String bound = forwards.getForwards(0).getBoundAddress();
        return Integer.parseInt(bound.substring(bound.lastIndexOf(':') + 1));
    }
}
