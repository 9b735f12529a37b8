package demo

import (
	"fmt"
	"strings"
)

// cast holds every name of a scenario. Seed 1 takes the first entry of
// each pool, which are the names of the design document (§8); other seeds
// take other entries and random parts, so nothing downstream can be tuned
// to one set of strings.
type cast struct {
	account, region, company string

	// Clusters: the EKS cluster of the cryptominer, the CIS benchmark and
	// SCARLETEEL, and the one of the log4shell service.
	shield, payments string

	// CIS benchmark.
	benchNS, benchJob, benchContainer, benchRunner, benchImage, benchArgs string

	// log4shell.
	l4jNS, l4jWorkload, l4jImage, l4jJar string
	l4jPort                              int
	ldapIP, revIP                        string
	ldapPort, httpPort, revPort          int
	classFile                            string

	// Cryptominer.
	minerNS, minerStem, script, minerPath, poolHost, poolIP, wallet string
	poolPort                                                        int
	minerPods                                                       int

	// SCARLETEEL.
	s4sNS, s4sWorkload, s4sImage, webshell string
	nodeRole, adminUser, attackerIP        string
	tfBucket, tfKey, confBucket, cfgBucket string
	confKeys                               []string
	trailStopped, trailKept                string

	// Background.
	humans  []string
	corpIPs []string
	ciUser  string
	ciRole  string
	appRole string
	devHost string
	devUser string
}

func newCast(g *gen) *cast {
	c := &cast{}
	c.account = fmt.Sprintf("%012d", 100000000000+g.r.Int64N(899999999999))
	c.region = pick(g, []string{"us-east-1", "us-west-2", "eu-west-1"})
	c.company = pick(g, []string{"acme", "globex", "initech", "umbrella", "hooli", "vandelay"})

	c.shield = pick(g, []string{"risks-aws-eks-workloads-shield", "prod-eks-workloads-guard", "risks-eks-apps-east", "platform-eks-core", "eks-shared-services"})
	c.payments = pick(g, []string{"payments-prod-eks", "checkout-eks-prod", "retail-eks-blue", "orders-prod-cluster", "fin-eks-live"})

	c.benchNS = pick(g, []string{"security-tools", "compliance", "kube-bench", "sec-audit", "platform-security"})
	c.benchJob = pick(g, []string{"cis-node-benchmark", "kube-bench-nightly", "cis-scan", "node-compliance", "bench-eks"})
	c.benchContainer = pick(g, []string{"benchmark-runner", "cis-benchmark", "kube-bench", "node-audit", "compliance-scan"})
	c.benchRunner = pick(g, []string{"benchmark-runner", "cis-runner", "bench-agent", "audit-runner", "compliance-runner"})
	c.benchImage = pick(g, []string{"docker.io/aquasec/kube-bench:v0.7.3", "docker.io/aquasec/kube-bench:v0.8.0", "docker.io/aquasec/kube-bench:v0.7.1", "docker.io/aquasec/kube-bench:v0.6.17"})
	c.benchArgs = pick(g, []string{"/etc/shadow", "-c %a /etc/shadow", "-L /etc/shadow", "-c %U:%G:%a /etc/shadow"})

	l4j := []string{"payment-api", "checkout-service", "billing-api", "ledger-api", "invoice-service"}
	i := 0
	if !g.canon {
		i = 1 + g.intn(len(l4j)-1)
	}
	c.l4jWorkload = l4j[i]
	c.l4jNS = []string{"payments", "checkout", "billing", "ledger", "invoicing"}[i]
	if g.canon {
		c.l4jImage = "ghcr.io/christophetd/log4shell-vulnerable-app:latest"
		c.l4jJar = "/app/spring-boot-application.jar"
	} else {
		c.l4jImage = fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s:1.%d.%d", c.account, c.region, c.l4jWorkload, g.between(2, 9), g.between(0, 14))
		c.l4jJar = "/app/" + c.l4jWorkload + ".jar"
	}
	c.l4jPort = pick(g, []int{8080, 8080, 8443, 9090})
	c.ldapIP = g.outsideIP()
	c.ldapPort = pick(g, []int{1389, 389, 10389, 1389})
	c.httpPort = pick(g, []int{8888, 8000, 8180, 80})
	c.revIP = "104.199.23.243"
	if !g.canon {
		c.revIP = g.outsideIP()
	}
	c.revPort = pick(g, []int{9001, 4444, 1337, 5555, 31337, 8443})
	c.classFile = pick(g, []string{"/tmp/Exploit.class", "/tmp/ExploitCmd.class", "/tmp/Log4jRCE.class", "/tmp/ExecTemplateJDK8.class", "/tmp/Payload.class"})

	c.minerNS = pick(g, []string{"risk-10-aws-bedrock-java", "ml-inference-java", "risk-07-genai-api", "analytics-jvm", "bedrock-gateway"})
	c.minerStem = pick(g, []string{"bedrock-java", "genai-svc", "inference", "llm-proxy", "jvm-app"})
	c.script = pick(g, []string{"./malicious-bin-event-gen.sh", "./update-deps.sh", "./healthfix.sh", "./init-cache.sh", "./sysupdate.sh"})
	bin := pick(g, []string{"easyminer", "kdevtmpfsi", "xmrig", "kworkerds", "dbused", "sysguard"})
	dir := pick(g, []string{"/tmp", "/var/tmp", "/dev/shm", "/tmp/.cache", "/tmp"})
	c.minerPath = dir + "/" + bin
	c.poolHost = pick(g, []string{"pool.supportxmr.com", "xmr.2miners.com", "gulf.moneroocean.stream", "pool.hashvault.pro", "xmr-eu1.nanopool.org"})
	c.poolIP = g.outsideIP()
	c.poolPort = pick(g, []int{3333, 4444, 5555, 10128, 14444, 3333})
	c.wallet = "4" + g.from("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz123456789", 94)
	c.minerPods = 4
	if !g.canon {
		c.minerPods = g.between(3, 5)
	}

	s4s := []string{"orders-api", "storefront-web", "catalog-service", "inventory-api", "shipping-api"}
	j := 0
	if !g.canon {
		j = 1 + g.intn(len(s4s)-1)
	}
	c.s4sWorkload = s4s[j]
	c.s4sNS = []string{"orders", "storefront", "catalog", "inventory", "shipping"}[j]
	c.s4sImage = fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s:%d.%d.%d", c.account, c.region, c.s4sWorkload, g.between(1, 4), g.between(0, 12), g.between(0, 9))
	c.webshell = pick(g, []string{"tomcatwar.jsp", "shell.jsp", "cmd.jsp", "status.jsp", "wpz.jsp"})
	c.nodeRole = c.shield + "-node-role"
	if len(c.nodeRole) > 64 {
		c.nodeRole = c.nodeRole[:64]
	}
	c.adminUser = pick(g, []string{"Admin6", "admin-legacy", "terraform-admin", "svc-infra-admin", "Admin2"})
	c.attackerIP = g.outsideIP()
	c.tfBucket = c.company + "-terraform-state-" + c.account
	c.tfKey = pick(g, []string{"prod/terraform.tfstate", "infra/prod/terraform.tfstate", "env:/prod/terraform.tfstate", "platform/terraform.tfstate"})
	c.confBucket = c.company + "-" + pick(g, []string{"confidential-reports", "finance-private", "hr-restricted", "legal-docs", "board-materials"})
	c.cfgBucket = c.company + "-app-config-" + c.region
	keys := []string{"finance/2025-q3-board-report.pdf", "hr/salaries-2025.xlsx", "customers/export-2025-10.csv.gz",
		"legal/contracts/msa-signed.pdf", "finance/payroll/2025-10.csv", "security/pentest-report-2025.pdf"}
	n := 4
	if !g.canon {
		n = g.between(3, 6)
		g.r.Shuffle(len(keys), func(a, b int) { keys[a], keys[b] = keys[b], keys[a] })
	}
	c.confKeys = keys[:n]
	c.trailStopped = c.company + "-management-events"
	c.trailKept = c.company + "-security-audit"

	humans := []string{"maria.garcia", "dev.chen", "j.okafor", "s.novak", "p.sharma", "l.rossi", "k.tanaka"}
	if !g.canon {
		g.r.Shuffle(len(humans), func(a, b int) { humans[a], humans[b] = humans[b], humans[a] })
	}
	c.humans = humans[:3]
	c.corpIPs = []string{g.ipIn(corporateRanges[0]), g.ipIn(corporateRanges[1])}
	c.ciUser = pick(g, []string{"ci-deployer", "gitlab-ci", "jenkins-deploy", "buildkite-agent"})
	c.ciRole = pick(g, []string{"ci-deploy-role", "deploy-pipeline", "cd-release-role", "gitops-deployer"})
	c.appRole = c.l4jWorkload + "-s3-reader"
	c.devHost = pick(g, []string{"dev-box-01", "devbox-eu-2", "build-ws-07", "eng-vm-12"})
	c.devUser = strings.SplitN(c.humans[1], ".", 2)[0]
	if c.devUser == "dev" {
		c.devUser = "dchen"
	}
	return c
}
