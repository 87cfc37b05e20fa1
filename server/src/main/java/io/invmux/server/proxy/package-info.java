/**
 * The sidecar's TCP forwarding proxy: applications that speak plain TCP (curl, iperf3, a database driver) get the
 * bonded transport without a code change.
 *
 * <ul>
 *   <li>{@link io.invmux.server.proxy.TcpForwarder} listens locally and carries each accepted connection over a
 *       stream opened by a {@link io.invmux.server.proxy.StreamOpener};</li>
 *   <li>{@link io.invmux.server.proxy.TcpServiceConnector} connects an arriving stream to a local target;</li>
 *   <li>both pump bytes with one bridge between a Netty channel and a stream, back-pressured both ways, with TCP
 *       half-close mapped to stream half-close and resets mapped to resets.</li>
 * </ul>
 */
package io.invmux.server.proxy;
