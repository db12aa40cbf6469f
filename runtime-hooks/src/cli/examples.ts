/**
 * `--help` examples of every command, by command path. Data in one place, so a test can walk the command tree and
 * find any command without examples; addExamples attaches them to the commands that exist in a given tree (the
 * container commands' bundle holds only its part).
 */
import type { Command } from 'commander';
import { commandTree } from './command-tree.js';

export const examples: Readonly<Record<string, readonly string[]>> = {
  '': ['berth network create web', 'berth run --network web -d --name api ./rootfs httpd -f -p 80', 'berth policy apply -f policies.yaml', 'berth cluster ls -o json'],

  'policy': ['berth policy apply -f shop.yaml', 'berth policy explain --from shop/client --to shop/web-1 --port 8080/tcp'],
  'policy apply': ['berth policy apply -f shop.yaml', 'cat policy.json | berth policy apply -f - -n shop', 'berth policy apply -f tiers.yaml --netns /run/netns/test -o json'],
  'policy ls': ['berth policy ls', 'berth policy ls -o json'],
  'policy rm': ['berth policy rm shop/web', 'berth policy rm --kind anp deny-all'],
  'policy endpoints': ['berth policy endpoints', 'berth policy endpoints -o json'],
  'policy explain': ['berth policy explain --from shop/client --to shop/web-1 --port 8080/tcp', 'berth policy explain --from 10.89.0.5 --to shop/db-0 --port icmp -o json'],
  'policy monitor': ['berth policy monitor on', 'berth policy monitor off'],
  'policy stats': ['berth policy stats', 'berth policy stats -o json', 'berth policy stats --drops'],
  'policy status': ['berth policy status', 'berth policy status -o json'],
  'policy resync': ['berth policy resync', 'berth policy resync --netns /run/netns/test'],

  'cluster': ['berth cluster init', 'berth cluster join --token-file /root/berth-worker.token 192.168.50.1', 'berth cluster ls'],
  'cluster init': ['berth cluster init', 'berth cluster init -o json'],
  'cluster join': ['berth cluster join --token-file /root/berth-worker.token 192.168.50.1', 'cat token | berth cluster join --token-file - 192.168.50.1:2377'],
  'cluster leave': ['berth cluster leave', 'berth cluster leave --force      (the last manager, or an unreachable cluster)'],
  'cluster rm': ['berth cluster rm node-3f2a9c'],
  'cluster ls': ['berth cluster ls', 'berth cluster ls -o json'],
  version: ['berth version', 'berth version -o json', 'until berth version > /dev/null 2>&1; do sleep 0.2; done   # wait for a starting berthd'],
  'cluster join-token': ['berth cluster join-token worker', 'berth cluster join-token manager --rotate', 'berth cluster join-token worker --ttl 24h -q > /root/berth-worker.token'],
  'cluster update': ['berth cluster update --autolock=true', 'berth cluster update --autolock=false'],
  'cluster unlock': ['berth cluster unlock                (type the key)', 'berth cluster unlock --key-file /root/unlock.key'],
  'cluster unlock-key': ['berth cluster unlock-key', 'berth cluster unlock-key --rotate -q'],
  'cluster rotate-key': ['berth cluster rotate-key', 'berth cluster rotate-key -o json'],
  'cluster audit': ['berth cluster audit', 'berth cluster audit -o json'],

  'network': ['berth network create web', 'berth network ls', 'berth network inspect web'],
  'network create': [
    'berth network create web --subnet 10.89.5.0/24',
    'berth network create lan --driver macvlan --subnet 192.168.50.0/24 --gateway 192.168.50.254 --opt master=eth0',
    'berth network create ovl --driver vxlan --subnet 10.244.0.0/16      (in a cluster, on a manager: every host',
    '  gets the network, leases a /24 of it and learns the others\' from the cluster; the VNI is chosen)',
    'berth network create ovl --driver vxlan --subnet 10.244.0.0/16 --opt vni=42 \\',
    '  --peer 192.168.50.1=10.244.1.0/24 --peer 192.168.50.2=10.244.2.0/24',
    '(outside a cluster: the same vxlan conflist serves every host: each finds itself among the peers by its own address)',
  ],
  'network ls': ['berth network ls', 'berth network ls -o json'],
  'network inspect': ['berth network inspect web', 'berth network inspect web -o table'],
  'network rm': ['berth network rm web', 'berth network rm --force web'],

  'run': ['berth run --network web --name api -p 8080:80 --label app=api -d ./rootfs httpd -f -p 80', 'berth run --rm --network web ./rootfs ping -c 1 10.89.0.2',
    'berth run --service api --secret db.password --network web ./rootfs cat /run/secrets/db.password'],
  'ps': ['berth ps', 'berth ps -a -o json'],
  'inspect': ['berth inspect api', 'berth inspect api -o table'],
  'logs': ['berth logs api', 'berth logs -f api'],
  'exec': ['berth exec api cat /etc/hosts', 'berth exec -t api sh'],
  'stop': ['berth stop api', 'berth stop -t 2 api db'],
  'rm': ['berth rm api', 'berth rm -f api db'],

  'hooks': ['berth hooks install'],
  'hooks install': ['berth hooks install', 'berth hooks install --dir /usr/share/containers/oci/hooks.d --env BERTH_ROOT=/var/lib/berth'],

  'secret': ['berth secret create db.password ./password.txt', 'berth secret grant db.password api', 'berth secret rotate db.password -'],
  'secret create': ['berth secret create db.password ./password.txt', 'printf %s "$PASSWORD" | berth secret create db.password - --label team=shop'],
  'secret ls': ['berth secret ls', 'berth secret ls -o json'],
  'secret inspect': ['berth secret inspect db.password', 'berth secret inspect db.password -o table'],
  'secret rm': ['berth secret rm db.password', 'berth secret rm --force db.password'],
  'secret rotate': ['berth secret rotate db.password ./new-password.txt', 'printf %s "$PASSWORD" | berth secret rotate db.password -'],
  'secret rollback': ['berth secret rollback db.password', 'berth secret rollback db.password --to 3'],
  'secret grant': ['berth secret grant db.password api', 'berth secret grant db.password api --target db_pass --uid 1000 --mode 0440'],
  'secret revoke': ['berth secret revoke db.password api'],
  'secret history': ['berth secret history db.password', 'berth secret history db.password -o json'],

  'completion': ['source <(berth completion bash)', 'berth completion bash > /etc/bash_completion.d/berth'],
};

/** Appends an Examples section to the help of every command of the tree that has examples. */
export function addExamples(program: Command): void {
  for (const { path, command } of commandTree(program)) {
    const lines = examples[path];
    if (lines !== undefined) command.addHelpText('after', `\nExamples:\n${lines.map((line) => `  ${line}`).join('\n')}`);
  }
}
