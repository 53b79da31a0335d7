namespace CloudApp.Bench;

/// <param name="Smoke">Tiny sizes and single repetitions: proves the suite runs end to end, measures nothing.</param>
/// <param name="ComputeApi">The built ComputeApi.dll the HTTP benchmarks start.</param>
/// <param name="BareApi">The built BareApi.dll (the framework ceiling).</param>
public sealed record Settings(bool Smoke, string ComputeApi, string BareApi);
