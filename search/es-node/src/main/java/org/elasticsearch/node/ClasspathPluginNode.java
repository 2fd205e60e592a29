package org.elasticsearch.node;

import org.elasticsearch.env.Environment;
import org.elasticsearch.plugins.MockPluginsService;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.plugins.PluginsLoader;
import org.elasticsearch.plugins.PluginsService;

import java.util.Collection;

/**
 * A real (non-mock) Elasticsearch node whose plugins are plain classes on the classpath instead of
 * modules/ and plugins/ directories. Same construction route as the ES test framework's MockNode,
 * minus every mock service. It lives in this package because NodeConstruction/NodeServiceProvider
 * are package-private (fine on the class path: nothing here runs as a named module).
 */
public class ClasspathPluginNode extends Node {

    public ClasspathPluginNode(Environment environment, Collection<Class<? extends Plugin>> classpathPlugins) {
        super(NodeConstruction.prepareConstruction(environment, null, new NodeServiceProvider() {
            @Override
            PluginsService newPluginService(Environment env, PluginsLoader pluginsLoader) {
                return new MockPluginsService(env.settings(), env, classpathPlugins);
            }
        }, true));
    }
}
