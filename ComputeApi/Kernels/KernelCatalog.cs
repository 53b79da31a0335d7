using Microsoft.Extensions.Options;

namespace CloudApp.ComputeApi.Kernels;

/// <summary>A kernel with the sizes configuration allows for it.</summary>
public sealed record CatalogEntry(IComputeKernel Kernel, long DefaultSize, long MaxSize)
{
    public string Name => Kernel.Name;
}

/// <summary>The kernels this service runs, looked up by name (case-insensitively) with their configured limits.</summary>
public sealed class KernelCatalog
{
    private readonly Dictionary<string, CatalogEntry> _byName;

    public KernelCatalog(IEnumerable<IComputeKernel> kernels, IOptionsMonitor<KernelLimits> limits)
    {
        Entries = [.. kernels.Select(k =>
        {
            var configured = limits.Get(k.Name);
            return new CatalogEntry(k, configured.DefaultSize, configured.MaxSize);
        })];
        _byName = Entries.ToDictionary(e => e.Name, StringComparer.OrdinalIgnoreCase);
    }

    public IReadOnlyList<CatalogEntry> Entries { get; }

    public CatalogEntry? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>The configuration section of a kernel's limits, e.g. <c>Compute:primes</c> (keys are case-insensitive).</summary>
    public static string ConfigurationKey(string kernel) => $"{ComputeOptions.SectionName}:{kernel}";
}

/// <summary>
/// Each kernel's limits, as named options (the name is the kernel's): its <see cref="IComputeKernel.DefaultLimits"/>,
/// overridden by the configuration section <c>Compute:{kernel}</c>.
/// </summary>
internal sealed class KernelLimitsSetup(IEnumerable<IComputeKernel> kernels, IConfiguration configuration) : IConfigureNamedOptions<KernelLimits>
{
    public void Configure(string? name, KernelLimits options)
    {
        if (kernels.FirstOrDefault(k => k.Name == name) is not { } kernel) return;
        var defaults = kernel.DefaultLimits;
        options.DefaultSize = defaults.DefaultSize;
        options.MaxSize = defaults.MaxSize;
        configuration.GetSection(KernelCatalog.ConfigurationKey(kernel.Name)).Bind(options);
    }

    public void Configure(KernelLimits options) => Configure(Options.DefaultName, options);
}

/// <summary>
/// Checks, when the service starts, each kernel's configured sizes against each other and against what the kernel
/// can run: the service refuses to start rather than accept sizes it cannot serve.
/// </summary>
public sealed class KernelLimitsValidator(IEnumerable<IComputeKernel> kernels, IOptionsMonitor<KernelLimits> limits) : IValidateOptions<ComputeOptions>
{
    public ValidateOptionsResult Validate(string? name, ComputeOptions options)
    {
        var failures = new List<string>();
        foreach (var kernel in kernels)
        {
            var configured = limits.Get(kernel.Name);
            var key = KernelCatalog.ConfigurationKey(kernel.Name);
            if (configured.DefaultSize < 1 || configured.MaxSize < 1)
            {
                failures.Add($"{key}:DefaultSize and {key}:MaxSize must be at least 1 (they are {configured.DefaultSize} and {configured.MaxSize}).");
            }
            if (configured.MaxSize > kernel.HardMaxSize)
            {
                failures.Add($"{key}:MaxSize is {configured.MaxSize}, above {kernel.HardMaxSize}, the largest size the {kernel.Name} kernel supports.");
            }
            if (configured.DefaultSize > configured.MaxSize)
            {
                failures.Add($"{key}:DefaultSize is {configured.DefaultSize}, above {key}:MaxSize ({configured.MaxSize}).");
            }
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
