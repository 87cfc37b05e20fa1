package io.invmux.client.testing;

import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Starts one {@link SidecarPair} for the whole test run (the first class that asks starts it; it is stopped when
 * the run ends) and injects it into test methods and constructors: {@code @ExtendWith(SidecarPairExtension.class)}.
 */
public final class SidecarPairExtension implements BeforeAllCallback, ParameterResolver {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(SidecarPairExtension.class);

    @Override
    public void beforeAll(ExtensionContext context) {
        pair(context);
    }

    private static SidecarPair pair(ExtensionContext context) {
        return context.getRoot().getStore(NS).getOrComputeIfAbsent("pair", k -> {
            try {
                return SidecarPair.start();
            } catch (RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException("cannot start the sidecar pair: " + e, e);
            }
        }, SidecarPair.class);
    }

    @Override
    public boolean supportsParameter(ParameterContext p, ExtensionContext e) {
        return p.getParameter().getType() == SidecarPair.class;
    }

    @Override
    public Object resolveParameter(ParameterContext p, ExtensionContext e) {
        return pair(e);
    }
}
