using k8s;
using k8s.Models;

namespace CloudApp.Deploy.Tests;

/// <summary>
/// The committed kustomizations (deploy/k8s: the generated base/ and node-agent/ and the kustomization of both; the
/// hand-written components/ and overlays/), and what kustomize builds from them.
/// </summary>
internal static class Manifests
{
    public static string Directory => Repository.Path("deploy", "k8s");

    /// <summary>The generated object files: the base's and the node agents' (not kustomizations, overlays or components).</summary>
    public static IReadOnlyList<string> YamlFiles =>
        [.. new[] { "base", "node-agent" }
            .SelectMany(d => System.IO.Directory.GetFiles(System.IO.Path.Combine(Directory, d), "*.yaml"))
            .Where(f => System.IO.Path.GetFileName(f) != "kustomization.yaml").Order(StringComparer.Ordinal)];

    /// <summary>Every object of the committed files, read strictly: an unknown field fails.</summary>
    public static IReadOnlyList<object> Committed() =>
        [.. YamlFiles.SelectMany(f => KubernetesYaml.LoadAllFromString(File.ReadAllText(f), typeMap: null, strict: true))];

    /// <summary>
    /// Runs <c>kubectl kustomize</c> on a copy of deploy/k8s (in <c>k8s/</c>), or on an overlay <paramref name="prepare"/>
    /// writes beside it (e.g. <c>resources: [k8s/base]</c>).
    /// </summary>
    public static async Task<ExternalProgram.Result> KustomizeAsync(Action<string>? prepare = null)
    {
        var copy = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"cloudapp-k8s-{Guid.NewGuid():N}");
        try
        {
            var @base = System.IO.Path.Combine(copy, "k8s");
            foreach (var file in System.IO.Directory.GetFiles(Directory, "*", SearchOption.AllDirectories))
            {
                var destination = System.IO.Path.Combine(@base, System.IO.Path.GetRelativePath(Directory, file));
                System.IO.Directory.CreateDirectory(System.IO.Path.GetDirectoryName(destination)!);
                File.Copy(file, destination);
            }
            prepare?.Invoke(copy);
            var target = System.IO.File.Exists(System.IO.Path.Combine(copy, "kustomization.yaml")) ? copy : @base;
            return await ExternalProgram.RunAsync("kubectl", ["kustomize", target], TimeSpan.FromMinutes(1));
        }
        finally
        {
            System.IO.Directory.Delete(copy, recursive: true);
        }
    }

    /// <summary>The whole deployment as generated (deploy/k8s: the base and the node agents), or <paramref name="folder"/> of it.</summary>
    public static async Task<IReadOnlyList<object>> BuiltAsync(string folder = ".")
    {
        var result = await KustomizeAsync(root =>
            File.WriteAllText(System.IO.Path.Combine(root, "kustomization.yaml"), $"resources: [k8s/{folder}]\n"));
        Assert.True(result.ExitCode == 0, $"kubectl kustomize failed: {result}");
        return KubernetesYaml.LoadAllFromString(result.Output, typeMap: null, strict: true);
    }

    public static IEnumerable<(IMetadata<V1ObjectMeta> Workload, V1PodTemplateSpec Pod)> Workloads(IEnumerable<object> objects) =>
        objects.Select(o => o switch
        {
            V1Deployment d => ((IMetadata<V1ObjectMeta>)d, d.Spec.Template),
            V1DaemonSet d => (d, d.Spec.Template),
            _ => ((IMetadata<V1ObjectMeta>)null!, (V1PodTemplateSpec)null!),
        }).Where(w => w.Item1 is not null);
}
