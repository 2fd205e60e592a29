package local.esnode;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.LowerCaseFilter;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.charfilter.HTMLStripCharFilter;
import org.apache.lucene.analysis.cjk.CJKAnalyzer;
import org.apache.lucene.analysis.cjk.CJKBigramFilter;
import org.apache.lucene.analysis.cjk.CJKWidthFilter;
import org.apache.lucene.analysis.core.DecimalDigitFilter;
import org.apache.lucene.analysis.core.KeywordAnalyzer;
import org.apache.lucene.analysis.core.KeywordTokenizer;
import org.apache.lucene.analysis.core.LetterTokenizer;
import org.apache.lucene.analysis.core.SimpleAnalyzer;
import org.apache.lucene.analysis.core.UpperCaseFilter;
import org.apache.lucene.analysis.core.WhitespaceAnalyzer;
import org.apache.lucene.analysis.core.WhitespaceTokenizer;
import org.apache.lucene.analysis.en.KStemFilter;
import org.apache.lucene.analysis.en.PorterStemFilter;
import org.apache.lucene.analysis.miscellaneous.ASCIIFoldingFilter;
import org.apache.lucene.analysis.miscellaneous.LengthFilter;
import org.apache.lucene.analysis.miscellaneous.TrimFilter;
import org.apache.lucene.analysis.miscellaneous.TruncateTokenFilter;
import org.apache.lucene.analysis.ngram.EdgeNGramTokenFilter;
import org.apache.lucene.analysis.ngram.EdgeNGramTokenizer;
import org.apache.lucene.analysis.ngram.NGramTokenFilter;
import org.apache.lucene.analysis.ngram.NGramTokenizer;
import org.apache.lucene.analysis.reverse.ReverseStringFilter;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.index.analysis.AbstractIndexAnalyzerProvider;
import org.elasticsearch.index.analysis.AnalyzerProvider;
import org.elasticsearch.index.analysis.CharFilterFactory;
import org.elasticsearch.index.analysis.NormalizingTokenFilterFactory;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.index.analysis.TokenizerFactory;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.elasticsearch.plugins.AnalysisPlugin;
import org.elasticsearch.plugins.Plugin;

import java.io.Reader;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The ES "analysis-common" module is not published to Maven Central, so this plugin re-registers,
 * on top of plain Lucene classes, the subset of its analysis components this project uses
 * (same names and main parameters as in Elasticsearch): cjk_bigram, cjk_width, lowercase, ...
 * The server itself already provides the standard tokenizer/analyzer, stop, shingle and the
 * custom analyzer type.
 */
public class CommonAnalysisLitePlugin extends Plugin implements AnalysisPlugin {

    @Override
    public Map<String, AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
        Map<String, AnalysisProvider<TokenFilterFactory>> m = new TreeMap<>();
        m.put("cjk_bigram", (is, env, name, s) -> {
            int flags = CJKBigramFilter.HAN | CJKBigramFilter.HIRAGANA | CJKBigramFilter.KATAKANA | CJKBigramFilter.HANGUL;
            for (String script : s.getAsList("ignored_scripts")) {
                switch (script.toLowerCase(Locale.ROOT)) {
                    case "han" -> flags &= ~CJKBigramFilter.HAN;
                    case "hiragana" -> flags &= ~CJKBigramFilter.HIRAGANA;
                    case "katakana" -> flags &= ~CJKBigramFilter.KATAKANA;
                    case "hangul" -> flags &= ~CJKBigramFilter.HANGUL;
                    default -> throw new IllegalArgumentException("unknown script [" + script + "] in [ignored_scripts]");
                }
            }
            final int f = flags;
            final boolean unigrams = s.getAsBoolean("output_unigrams", false);
            return filter(name, ts -> new CJKBigramFilter(ts, f, unigrams));
        });
        m.put("cjk_width", (is, env, name, s) -> normalizing(name, CJKWidthFilter::new));
        m.put("lowercase", (is, env, name, s) -> normalizing(name, LowerCaseFilter::new));
        m.put("uppercase", (is, env, name, s) -> normalizing(name, UpperCaseFilter::new));
        m.put("asciifolding", (is, env, name, s) -> {
            boolean keep = s.getAsBoolean("preserve_original", false);
            return normalizing(name, ts -> new ASCIIFoldingFilter(ts, keep));
        });
        m.put("decimal_digit", (is, env, name, s) -> normalizing(name, DecimalDigitFilter::new));
        m.put("trim", (is, env, name, s) -> normalizing(name, TrimFilter::new));
        m.put("reverse", (is, env, name, s) -> filter(name, ReverseStringFilter::new));
        m.put("porter_stem", (is, env, name, s) -> filter(name, PorterStemFilter::new));
        m.put("kstem", (is, env, name, s) -> filter(name, KStemFilter::new));
        m.put("length", (is, env, name, s) -> {
            int min = s.getAsInt("min", 0), max = s.getAsInt("max", Integer.MAX_VALUE);
            return filter(name, ts -> new LengthFilter(ts, min, max));
        });
        m.put("truncate", (is, env, name, s) -> {
            int len = s.getAsInt("length", 10);
            return filter(name, ts -> new TruncateTokenFilter(ts, len));
        });
        m.put("ngram", (is, env, name, s) -> {
            int min = s.getAsInt("min_gram", 1), max = s.getAsInt("max_gram", 2);
            boolean keep = s.getAsBoolean("preserve_original", false);
            return filter(name, ts -> new NGramTokenFilter(ts, min, max, keep));
        });
        m.put("edge_ngram", (is, env, name, s) -> {
            int min = s.getAsInt("min_gram", 1), max = s.getAsInt("max_gram", 2);
            boolean keep = s.getAsBoolean("preserve_original", false);
            return filter(name, ts -> new EdgeNGramTokenFilter(ts, min, max, keep));
        });
        return m;
    }

    @Override
    public Map<String, AnalysisProvider<TokenizerFactory>> getTokenizers() {
        Map<String, AnalysisProvider<TokenizerFactory>> m = new TreeMap<>();
        m.put("whitespace", (is, env, name, s) -> TokenizerFactory.newFactory(name, WhitespaceTokenizer::new));
        m.put("keyword", (is, env, name, s) -> TokenizerFactory.newFactory(name, KeywordTokenizer::new));
        m.put("letter", (is, env, name, s) -> TokenizerFactory.newFactory(name, LetterTokenizer::new));
        m.put("ngram", (is, env, name, s) -> {
            int min = s.getAsInt("min_gram", 1), max = s.getAsInt("max_gram", 2);
            return TokenizerFactory.newFactory(name, () -> new NGramTokenizer(min, max));
        });
        m.put("edge_ngram", (is, env, name, s) -> {
            int min = s.getAsInt("min_gram", 1), max = s.getAsInt("max_gram", 2);
            return TokenizerFactory.newFactory(name, () -> new EdgeNGramTokenizer(min, max));
        });
        return m;
    }

    @Override
    public Map<String, AnalysisProvider<CharFilterFactory>> getCharFilters() {
        return Map.of("html_strip", (is, env, name, s) -> new CharFilterFactory() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public Reader create(Reader reader) {
                return new HTMLStripCharFilter(reader);
            }
        });
    }

    @Override
    public Map<String, AnalysisProvider<AnalyzerProvider<? extends Analyzer>>> getAnalyzers() {
        Map<String, AnalysisProvider<AnalyzerProvider<? extends Analyzer>>> m = new TreeMap<>();
        m.put("cjk", (is, env, name, s) -> analyzer(name, s, () -> new CJKAnalyzer(CJKAnalyzer.getDefaultStopSet())));
        m.put("whitespace", (is, env, name, s) -> analyzer(name, s, WhitespaceAnalyzer::new));
        m.put("keyword", (is, env, name, s) -> analyzer(name, s, KeywordAnalyzer::new));
        m.put("simple", (is, env, name, s) -> analyzer(name, s, SimpleAnalyzer::new));
        return m;
    }

    private static TokenFilterFactory filter(String name, Function<TokenStream, TokenStream> f) {
        return new TokenFilterFactory() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public TokenStream create(TokenStream ts) {
                return f.apply(ts);
            }
        };
    }

    /** Filters that only change characters, so they also apply to keyword normalizers / query terms. */
    private static TokenFilterFactory normalizing(String name, Function<TokenStream, TokenStream> f) {
        return new NormalizingTokenFilterFactory() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public TokenStream create(TokenStream ts) {
                return f.apply(ts);
            }
        };
    }

    private static <A extends Analyzer> AnalyzerProvider<A> analyzer(String name, Settings s, Supplier<A> supplier) {
        final A a = supplier.get();
        return new AbstractIndexAnalyzerProvider<A>(name, s) {
            @Override
            public A get() {
                return a;
            }
        };
    }

}
